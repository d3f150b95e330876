//! Hand-computed checks of SLA windows, accounting rules, breaches and credits.

use super::*;
use chrono_tz::America::{Havana, New_York, Sao_Paulo};
use chrono_tz::Europe::Berlin;
use chrono_tz::UTC;

use HealthState::{Degraded, Healthy, Maintenance, Paused, Unhealthy, Unknown};

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;
/// Long after every window in these tests: the window is complete.
const LATER: &str = "2030-01-01T00:00:00Z";

fn at(text: &str) -> DateTime<Utc> {
    text.parse()
        .unwrap_or_else(|e| panic!("{text} is an instant: {e}"))
}

fn step(text: &str, state: HealthState) -> Transition {
    Transition::new(at(text), state)
}

fn percent(text: &str) -> Percent {
    text.parse().unwrap()
}

/// Maintenance excluded, degraded up, unknown excluded, paused like maintenance.
fn base_rules() -> AccountingRules {
    AccountingRules {
        maintenance: TimeRule::Excluded,
        degraded: DegradedRule::AsUp,
        unknown: TimeRule::Excluded,
        paused: PausedRule::LikeMaintenance,
    }
}

/// 99.9 % monthly in `zone`; below 99.9 → 10 %, below 99 → 25 %, below 95 → 50 % of
/// 10 000.00 EUR.
fn terms(window: SlaWindow, zone: Tz, rules: AccountingRules) -> SlaTerms {
    let tier = |below: &str, credit: &str| CreditTier {
        below_percent: percent(below),
        credit_percent: percent(credit),
    };
    SlaTerms {
        target_percent: percent("99.9"),
        window,
        time_zone: zone,
        rules,
        credits: vec![tier("99.9", "10"), tier("99", "25"), tier("95", "50")],
        window_fee_minor: 1_000_000,
        currency: "EUR".into(),
    }
}

fn monthly(rules: AccountingRules) -> SlaTerms {
    terms(SlaWindow::CalendarMonth, UTC, rules)
}

fn report(period: &str, terms: &SlaTerms, transitions: &[Transition]) -> SlaReport {
    report_at(period, terms, transitions, LATER)
}

fn report_at(period: &str, terms: &SlaTerms, transitions: &[Transition], now: &str) -> SlaReport {
    let period: SlaPeriod = period.parse().unwrap();
    SlaReport::for_period(period, terms, transitions, at(now))
        .unwrap_or_else(|e| panic!("{period} computes: {e}"))
}

fn window_seconds(r: &SlaReport) -> i64 {
    (r.window_end - r.window_start).num_seconds()
}

/// Asserts up, down and excluded seconds, and that counted is their sum of up and down.
fn assert_seconds(r: &SlaReport, up: i64, down: i64, excluded: i64, what: &str) {
    assert_eq!(
        (r.up_seconds, r.down_seconds, r.excluded_seconds),
        (up, down, excluded),
        "{what}: (up, down, excluded) seconds"
    );
    assert_eq!(r.counted_seconds, up + down, "{what}: counted = up + down");
}

fn breach(start: &str, end: &str, state: HealthState) -> Breach {
    Breach {
        start: at(start),
        end: at(end),
        duration_seconds: (at(end) - at(start)).num_seconds(),
        state,
    }
}

/// April 2026 (UTC, 30 days = 2 592 000 s): healthy from March on, then 2 h degraded, 4 h
/// maintenance, 1 h unknown, 30 min paused, 10 min unhealthy; 27 600 s that are not healthy.
fn april_timeline() -> Vec<Transition> {
    vec![
        step("2026-03-31T00:00:00Z", Healthy),
        step("2026-04-02T00:00:00Z", Degraded),
        step("2026-04-02T02:00:00Z", Healthy),
        step("2026-04-10T00:00:00Z", Maintenance),
        step("2026-04-10T04:00:00Z", Healthy),
        step("2026-04-15T00:00:00Z", Unknown),
        step("2026-04-15T01:00:00Z", Healthy),
        step("2026-04-20T00:00:00Z", Paused),
        step("2026-04-20T00:30:00Z", Healthy),
        step("2026-04-25T00:00:00Z", Unhealthy),
        step("2026-04-25T00:10:00Z", Healthy),
    ]
}

const APRIL_HEALTHY: i64 = 2_592_000 - 27_600;

fn unhealthy_breach() -> Breach {
    breach("2026-04-25T00:00:00Z", "2026-04-25T00:10:00Z", Unhealthy)
}

// Windows.

#[test]
fn month_windows_last_31_30_28_and_29_days() {
    let healthy = [step("2000-01-01T00:00:00Z", Healthy)];
    let sla = monthly(base_rules());
    for (period, start, end, days) in [
        (
            "2026-01",
            "2026-01-01T00:00:00Z",
            "2026-02-01T00:00:00Z",
            31,
        ),
        (
            "2026-04",
            "2026-04-01T00:00:00Z",
            "2026-05-01T00:00:00Z",
            30,
        ),
        (
            "2026-02",
            "2026-02-01T00:00:00Z",
            "2026-03-01T00:00:00Z",
            28,
        ),
        (
            "2028-02",
            "2028-02-01T00:00:00Z",
            "2028-03-01T00:00:00Z",
            29,
        ),
        (
            "2026-12",
            "2026-12-01T00:00:00Z",
            "2027-01-01T00:00:00Z",
            31,
        ),
    ] {
        let r = report(period, &sla, &healthy);
        assert_eq!(
            (r.window_start, r.window_end),
            (at(start), at(end)),
            "{period} bounds"
        );
        assert_seconds(&r, days * DAY, 0, 0, period);
        assert_eq!(r.attained_percent, Some(100.0), "{period} all healthy");
        assert!(r.complete, "{period} lies in the past");
    }
}

#[test]
fn the_2028_leap_day_is_counted_in_february() {
    let timeline = [
        step("2028-01-01T00:00:00Z", Healthy),
        step("2028-02-29T00:00:00Z", Unhealthy),
        step("2028-03-01T00:00:00Z", Healthy),
    ];
    let r = report("2028-02", &monthly(base_rules()), &timeline);
    assert_seconds(&r, 28 * DAY, DAY, 0, "leap February");
    assert_eq!(
        r.breaches,
        [breach(
            "2028-02-29T00:00:00Z",
            "2028-03-01T00:00:00Z",
            Unhealthy
        )],
        "the leap day is one breach ending with the window"
    );
}

#[test]
fn quarters_span_three_calendar_months() {
    let quarterly = |zone| terms(SlaWindow::CalendarQuarter, zone, base_rules());
    for (period, zone, start, end, seconds) in [
        // 31 + 28 + 31 days.
        (
            "2026-Q1",
            UTC,
            "2026-01-01T00:00:00Z",
            "2026-04-01T00:00:00Z",
            90 * DAY,
        ),
        // 31 + 29 + 31 days in a leap year.
        (
            "2028-Q1",
            UTC,
            "2028-01-01T00:00:00Z",
            "2028-04-01T00:00:00Z",
            91 * DAY,
        ),
        (
            "2026-Q3",
            UTC,
            "2026-07-01T00:00:00Z",
            "2026-10-01T00:00:00Z",
            92 * DAY,
        ),
        // Berlin: starts in summer time (UTC+2), ends in winter time (UTC+1): one hour more.
        (
            "2026-Q4",
            Berlin,
            "2026-09-30T22:00:00Z",
            "2026-12-31T23:00:00Z",
            92 * DAY + HOUR,
        ),
    ] {
        let r = report(period, &quarterly(zone), &[]);
        assert_eq!(
            (r.window_start, r.window_end),
            (at(start), at(end)),
            "{period} in {zone} bounds"
        );
        assert_eq!(window_seconds(&r), seconds, "{period} in {zone} length");
        assert_eq!(
            r.excluded_seconds, seconds,
            "{period}: no data and unknown excluded"
        );
    }
}

#[test]
fn daylight_saving_months_have_743_or_745_hours() {
    for (period, zone, start, end, hours) in [
        // Summer time starts on 29 March: 31 × 24 − 1.
        (
            "2026-03",
            Berlin,
            "2026-02-28T23:00:00Z",
            "2026-03-31T22:00:00Z",
            743,
        ),
        // Summer time ends on 25 October: 31 × 24 + 1.
        (
            "2026-10",
            Berlin,
            "2026-09-30T22:00:00Z",
            "2026-10-31T23:00:00Z",
            745,
        ),
        // Daylight time starts on 8 March.
        (
            "2026-03",
            New_York,
            "2026-03-01T05:00:00Z",
            "2026-04-01T04:00:00Z",
            743,
        ),
        // Daylight time ends on 1 November: 30 × 24 + 1.
        (
            "2026-11",
            New_York,
            "2026-11-01T04:00:00Z",
            "2026-12-01T05:00:00Z",
            721,
        ),
    ] {
        let sla = terms(SlaWindow::CalendarMonth, zone, base_rules());
        let r = report(period, &sla, &[step("2026-01-01T00:00:00Z", Healthy)]);
        assert_eq!(
            (r.window_start, r.window_end),
            (at(start), at(end)),
            "{period} in {zone} bounds"
        );
        assert_eq!(window_seconds(&r), hours * HOUR, "{period} in {zone} hours");
        assert_seconds(&r, hours * HOUR, 0, 0, "all healthy");
    }
}

#[test]
fn a_midnight_the_clocks_skip_starts_the_day_when_they_jump() {
    let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    // São Paulo, 4 Nov 2018: 00:00 (UTC−3) became 01:00 (UTC−2).
    assert_eq!(
        local_midnight(Sao_Paulo, day(2018, 11, 4)),
        at("2018-11-04T03:00:00Z"),
        "São Paulo's skipped midnight"
    );
    // Havana, 10 Mar 2024: 00:00 (UTC−5) became 01:00 (UTC−4).
    assert_eq!(
        local_midnight(Havana, day(2024, 3, 10)),
        at("2024-03-10T05:00:00Z"),
        "Havana's skipped midnight"
    );
    // Havana, 5 Nov 2023: 01:00 (UTC−4) went back to 00:00 (UTC−5); the first midnight counts.
    assert_eq!(
        local_midnight(Havana, day(2023, 11, 5)),
        at("2023-11-05T04:00:00Z"),
        "Havana's repeated midnight"
    );
}

// Accounting rules, each against the April timeline.

#[test]
fn base_rules_count_degraded_up_and_leave_maintenance_unknown_and_paused_out() {
    let r = report("2026-04", &monthly(base_rules()), &april_timeline());
    assert_seconds(
        &r,
        APRIL_HEALTHY + 7_200,
        600,
        14_400 + 3_600 + 1_800,
        "base",
    );
    // 2 572 200 counted × 0.1 % = 2 572.2 s, rounded down.
    assert_eq!(r.error_budget_seconds, 2_572, "budget");
    assert_eq!(r.budget_left_seconds, 2_572 - 600, "budget left");
    assert!(r.met, "99.9767 % meets 99.9 %");
    assert_eq!(r.breaches, [unhealthy_breach()], "only unhealthy is down");
    assert_eq!(
        (r.credit_percent, r.credit_owed_minor),
        (0.0, 0),
        "no credit"
    );
}

#[test]
fn degraded_as_down_turns_degraded_time_into_a_breach() {
    let rules = AccountingRules {
        degraded: DegradedRule::AsDown,
        ..base_rules()
    };
    let r = report("2026-04", &monthly(rules), &april_timeline());
    assert_seconds(&r, APRIL_HEALTHY, 7_800, 19_800, "degraded down");
    assert_eq!(
        r.breaches,
        [
            breach("2026-04-02T00:00:00Z", "2026-04-02T02:00:00Z", Degraded),
            unhealthy_breach()
        ],
        "degraded is a breach"
    );
    // 2 564 400 / 2 572 200 = 99.6967 %: below 99.9, not below 99.
    assert!(!r.met, "missed");
    assert_eq!(r.budget_left_seconds, 2_572 - 7_800, "budget overdrawn");
    assert_eq!(
        (r.credit_percent, r.credit_owed_minor),
        (10.0, 100_000),
        "10 %"
    );
}

#[test]
fn maintenance_as_up_counts_maintenance_and_paused_as_up() {
    let rules = AccountingRules {
        maintenance: TimeRule::AsUp,
        ..base_rules()
    };
    let r = report("2026-04", &monthly(rules), &april_timeline());
    assert_seconds(
        &r,
        APRIL_HEALTHY + 7_200 + 14_400 + 1_800,
        600,
        3_600,
        "maintenance up",
    );
    // 2 588 400 counted × 0.1 % = 2 588.4.
    assert_eq!(
        r.error_budget_seconds, 2_588,
        "a larger denominator, a larger budget"
    );
    assert!(r.met, "met");
}

#[test]
fn maintenance_as_down_makes_maintenance_and_paused_breaches() {
    let rules = AccountingRules {
        maintenance: TimeRule::AsDown,
        ..base_rules()
    };
    let r = report("2026-04", &monthly(rules), &april_timeline());
    assert_seconds(
        &r,
        APRIL_HEALTHY + 7_200,
        600 + 14_400 + 1_800,
        3_600,
        "down",
    );
    assert_eq!(
        r.breaches,
        [
            breach("2026-04-10T00:00:00Z", "2026-04-10T04:00:00Z", Maintenance),
            breach("2026-04-20T00:00:00Z", "2026-04-20T00:30:00Z", Paused),
            unhealthy_breach(),
        ],
        "maintenance and paused are breaches"
    );
    // 2 571 600 / 2 588 400 = 99.351 %.
    let attained = r.attained_percent.unwrap();
    assert!((attained - 99.350_97).abs() < 1e-4, "attained {attained}");
    assert!(!r.met, "missed");
    assert_eq!(
        r.budget_left_seconds,
        2_588 - 16_800,
        "budget left is negative"
    );
    assert_eq!(
        (r.credit_percent, r.credit_owed_minor),
        (10.0, 100_000),
        "10 %"
    );
}

#[test]
fn paused_excluded_leaves_paused_out_even_when_maintenance_is_down() {
    let rules = AccountingRules {
        maintenance: TimeRule::AsDown,
        paused: PausedRule::Excluded,
        ..base_rules()
    };
    let r = report("2026-04", &monthly(rules), &april_timeline());
    assert_seconds(
        &r,
        APRIL_HEALTHY + 7_200,
        600 + 14_400,
        3_600 + 1_800,
        "paused out",
    );
    assert_eq!(r.breaches.len(), 2, "maintenance and unhealthy only");
}

#[test]
fn unknown_as_up_and_as_down_move_the_hour_without_data() {
    let up = AccountingRules {
        unknown: TimeRule::AsUp,
        ..base_rules()
    };
    let r = report("2026-04", &monthly(up), &april_timeline());
    assert_seconds(&r, APRIL_HEALTHY + 7_200 + 3_600, 600, 16_200, "unknown up");

    let down = AccountingRules {
        unknown: TimeRule::AsDown,
        ..base_rules()
    };
    let r = report("2026-04", &monthly(down), &april_timeline());
    assert_seconds(&r, APRIL_HEALTHY + 7_200, 4_200, 16_200, "unknown down");
    assert_eq!(
        r.breaches,
        [
            breach("2026-04-15T00:00:00Z", "2026-04-15T01:00:00Z", Unknown),
            unhealthy_breach()
        ],
        "the hour without data is a breach"
    );
    // 2 575 800 × 0.1 % = 2 575.8; 4 200 down.
    assert_eq!(r.budget_left_seconds, 2_575 - 4_200, "over budget");
}

// Timeline edges.

#[test]
fn breaches_are_clipped_at_both_window_edges() {
    let timeline = [
        step("2026-03-31T23:00:00Z", Unhealthy),
        step("2026-04-01T01:00:00Z", Healthy),
        step("2026-04-30T23:30:00Z", Unhealthy),
        step("2026-05-01T02:00:00Z", Healthy),
    ];
    let r = report("2026-04", &monthly(base_rules()), &timeline);
    assert_eq!(
        r.breaches,
        [
            breach("2026-04-01T00:00:00Z", "2026-04-01T01:00:00Z", Unhealthy),
            breach("2026-04-30T23:30:00Z", "2026-05-01T00:00:00Z", Unhealthy),
        ],
        "only the parts inside April"
    );
    assert_seconds(&r, 30 * DAY - 5_400, 5_400, 0, "clipped");
}

#[test]
fn a_transition_exactly_at_the_window_start_sets_the_first_second() {
    let timeline = [
        step("2026-03-01T00:00:00Z", Healthy),
        step("2026-04-01T00:00:00Z", Unhealthy),
        step("2026-04-01T01:00:00Z", Healthy),
    ];
    let r = report("2026-04", &monthly(base_rules()), &timeline);
    assert_eq!(
        r.breaches,
        [breach(
            "2026-04-01T00:00:00Z",
            "2026-04-01T01:00:00Z",
            Unhealthy
        )],
        "down from the first second"
    );
    assert_seconds(&r, 30 * DAY - HOUR, HOUR, 0, "one hour down");
}

#[test]
fn a_transition_exactly_at_the_window_end_belongs_to_the_next_window() {
    let timeline = [
        step("2026-03-01T00:00:00Z", Healthy),
        step("2026-05-01T00:00:00Z", Unhealthy),
    ];
    let sla = monthly(base_rules());
    let april = report("2026-04", &sla, &timeline);
    assert_seconds(&april, 30 * DAY, 0, 0, "April untouched");
    assert!(april.breaches.is_empty(), "no breach in April");
    let may = report("2026-05", &sla, &timeline);
    assert_seconds(&may, 0, 31 * DAY, 0, "May down from its first second");
}

#[test]
fn no_transitions_at_all_is_unknown_for_the_whole_window() {
    let r = report("2026-04", &monthly(base_rules()), &[]);
    assert_seconds(&r, 0, 0, 30 * DAY, "unknown excluded");
    assert_eq!(r.attained_percent, None, "nothing to attain");
    assert!(r.met, "nothing counted, nothing missed");
    assert_eq!(
        (r.error_budget_seconds, r.credit_owed_minor),
        (0, 0),
        "no budget, no credit"
    );

    let down = AccountingRules {
        unknown: TimeRule::AsDown,
        ..base_rules()
    };
    let r = report("2026-04", &monthly(down), &[]);
    assert_seconds(&r, 0, 30 * DAY, 0, "unknown down");
    assert_eq!(r.attained_percent, Some(0.0), "0 % attained");
    assert_eq!(
        r.breaches,
        [breach(
            "2026-04-01T00:00:00Z",
            "2026-05-01T00:00:00Z",
            Unknown
        )],
        "one breach, the whole window"
    );
    assert_eq!(
        (r.credit_percent, r.credit_owed_minor),
        (50.0, 500_000),
        "top tier"
    );
}

#[test]
fn adjacent_down_states_merge_and_excluded_time_splits_breaches() {
    let rules = AccountingRules {
        degraded: DegradedRule::AsDown,
        ..base_rules()
    };
    let timeline = [
        step("2026-03-01T00:00:00Z", Healthy),
        step("2026-04-05T10:00:00Z", Degraded),
        step("2026-04-05T10:20:00Z", Unhealthy),
        step("2026-04-05T10:30:00Z", Unhealthy),
        step("2026-04-05T11:00:00Z", Maintenance),
        step("2026-04-05T12:00:00Z", Unhealthy),
        step("2026-04-05T12:05:00Z", Healthy),
    ];
    let r = report("2026-04", &monthly(rules), &timeline);
    assert_eq!(
        r.breaches,
        [
            // 20 min degraded then 40 min unhealthy: one breach, named after the longer part.
            breach("2026-04-05T10:00:00Z", "2026-04-05T11:00:00Z", Unhealthy),
            breach("2026-04-05T12:00:00Z", "2026-04-05T12:05:00Z", Unhealthy),
        ],
        "merged, then split by maintenance"
    );
    assert_seconds(&r, 30 * DAY - 3_900 - HOUR, 3_900, HOUR, "split");
}

#[test]
fn input_order_does_not_matter_but_the_last_of_equal_instants_wins() {
    let sla = monthly(base_rules());
    let mut shuffled = april_timeline();
    shuffled.reverse();
    assert_eq!(
        report("2026-04", &sla, &shuffled),
        report("2026-04", &sla, &april_timeline()),
        "sorted by time"
    );
    let same_second = [
        step("2026-03-01T00:00:00Z", Healthy),
        step("2026-04-10T00:00:00Z", Unhealthy),
        step("2026-04-10T00:00:00Z", Healthy),
    ];
    let r = report("2026-04", &sla, &same_second);
    assert_seconds(&r, 30 * DAY, 0, 0, "the later healthy wins");
}

#[test]
fn fractions_of_a_second_are_dropped_from_transitions() {
    let timeline = [
        step("2026-03-01T00:00:00Z", Healthy),
        step("2026-04-10T00:00:00.900Z", Unhealthy),
        step("2026-04-10T00:00:10.100Z", Healthy),
    ];
    let r = report("2026-04", &monthly(base_rules()), &timeline);
    assert_seconds(&r, 30 * DAY - 10, 10, 0, "00:00:00 to 00:00:10");
}

// Credits and budget.

/// April 2026 in UTC with exactly `down` seconds unhealthy.
fn april_with_down(down: i64) -> SlaReport {
    let start = at("2026-04-10T00:00:00Z");
    let timeline = [
        step("2026-03-01T00:00:00Z", Healthy),
        Transition::new(start, Unhealthy),
        Transition::new(start + TimeDelta::seconds(down), Healthy),
    ];
    report("2026-04", &monthly(base_rules()), &timeline)
}

#[test]
fn exactly_at_a_threshold_is_not_below_it() {
    // 30 days = 2 592 000 s; 0.1 % is 2 592 s, 1 % is 25 920 s, 5 % is 129 600 s.
    for (down, met, left, credit, owed) in [
        (2_592, true, 0, 0.0, 0),
        (2_593, false, -1, 10.0, 100_000),
        (25_920, false, 2_592 - 25_920, 10.0, 100_000),
        (25_921, false, 2_592 - 25_921, 25.0, 250_000),
        (129_600, false, 2_592 - 129_600, 25.0, 250_000),
        (129_601, false, 2_592 - 129_601, 50.0, 500_000),
    ] {
        let r = april_with_down(down);
        assert_eq!(r.met, met, "{down} s down: met");
        assert_eq!(r.error_budget_seconds, 2_592, "{down} s down: budget");
        assert_eq!(r.budget_left_seconds, left, "{down} s down: budget left");
        assert_eq!(
            (r.credit_percent, r.credit_owed_minor),
            (credit, owed),
            "{down} s down: credit"
        );
    }
}

#[test]
fn the_largest_applicable_credit_applies_whatever_the_tier_order() {
    let mut sla = monthly(base_rules());
    sla.credits.reverse();
    let timeline = [
        step("2026-03-01T00:00:00Z", Healthy),
        step("2026-04-10T00:00:00Z", Unhealthy),
        step("2026-04-12T00:00:00Z", Healthy),
    ];
    // 2 days of 30 down: 93.33 %.
    let r = report("2026-04", &sla, &timeline);
    assert_eq!(r.credit_percent, 50.0, "below 95 → 50 %");
}

#[test]
fn credit_is_rounded_half_up_to_the_minor_unit() {
    let mut sla = monthly(base_rules());
    let timeline = [step("2026-03-01T00:00:00Z", Unhealthy)];
    sla.credits = vec![CreditTier {
        below_percent: percent("99.9"),
        credit_percent: percent("10"),
    }];
    sla.window_fee_minor = 12_345;
    assert_eq!(
        report("2026-04", &sla, &timeline).credit_owed_minor,
        1_235,
        "1 234.5 rounds up"
    );
    sla.window_fee_minor = 12_344;
    assert_eq!(
        report("2026-04", &sla, &timeline).credit_owed_minor,
        1_234,
        "1 234.4 rounds down"
    );
}

// Windows still running.

#[test]
fn month_to_date_counts_only_up_to_now_and_ignores_later_transitions() {
    let timeline = [
        step("2026-03-01T00:00:00Z", Healthy),
        step("2026-04-10T11:00:00Z", Unhealthy),
        // After now: not known yet, ignored.
        step("2026-04-10T13:00:00Z", Healthy),
    ];
    let now = at("2026-04-10T12:00:00Z");
    let r = SlaReport::to_date(&monthly(base_rules()), &timeline, now).unwrap();
    assert_eq!(r.period.to_string(), "2026-04", "the month holding now");
    assert_eq!(
        (r.measured_until, r.complete),
        (now, false),
        "measured to now"
    );
    // 9.5 days elapsed; the last hour down.
    assert_seconds(&r, 9 * DAY + 11 * HOUR, HOUR, 0, "month to date");
    assert_eq!(
        r.breaches,
        [breach(
            "2026-04-10T11:00:00Z",
            "2026-04-10T12:00:00Z",
            Unhealthy
        )],
        "the open breach ends at now"
    );
    // 820 800 s elapsed × 0.1 % = 820.8.
    assert_eq!(r.error_budget_seconds, 820, "budget of the elapsed part");
    assert_eq!(r.budget_left_seconds, 820 - 3_600, "already over budget");
}

#[test]
fn to_date_picks_the_period_on_the_contracts_calendar() {
    // 22:30 UTC on 30 September is already October in Berlin.
    let now = at("2026-09-30T22:30:00Z");
    let monthly = terms(SlaWindow::CalendarMonth, Berlin, base_rules());
    let r = SlaReport::to_date(&monthly, &[step("2026-01-01T00:00:00Z", Healthy)], now).unwrap();
    assert_eq!(r.period.to_string(), "2026-10", "Berlin month");
    assert_seconds(&r, 30 * 60, 0, 0, "half an hour of October");
    let quarterly = terms(SlaWindow::CalendarQuarter, Berlin, base_rules());
    let r = SlaReport::to_date(&quarterly, &[], now).unwrap();
    assert_eq!(r.period.to_string(), "2026-Q4", "Berlin quarter");
}

#[test]
fn a_window_in_the_future_counts_nothing() {
    let r = report_at(
        "2026-05",
        &monthly(base_rules()),
        &april_timeline(),
        "2026-04-20T00:00:00Z",
    );
    assert_seconds(&r, 0, 0, 0, "nothing yet");
    assert_eq!(r.measured_until, r.window_start, "measured nothing");
    assert!(!r.complete, "not complete");
}

// Parsing and validation.

#[test]
fn periods_parse_and_print_as_months_and_quarters() {
    for (text, printed, window) in [
        ("2026-10", "2026-10", SlaWindow::CalendarMonth),
        ("2026-01", "2026-01", SlaWindow::CalendarMonth),
        ("2026-Q4", "2026-Q4", SlaWindow::CalendarQuarter),
        ("2026-q1", "2026-Q1", SlaWindow::CalendarQuarter),
    ] {
        let period: SlaPeriod = text.parse().unwrap();
        assert_eq!(period.to_string(), printed, "{text} prints");
        assert_eq!(period.window(), window, "{text} window");
        let json = serde_json::to_string(&period).unwrap();
        assert_eq!(json, format!("\"{printed}\""), "{text} as JSON");
        assert_eq!(
            serde_json::from_str::<SlaPeriod>(&json).unwrap(),
            period,
            "{text} from JSON"
        );
    }
}

#[test]
fn malformed_periods_are_refused_naming_the_problem() {
    for (text, expected) in [
        (
            "2026-13",
            "\"2026-13\" is not a month; months run from 01 to 12",
        ),
        ("2026-00", "\"2026-00\" is not a month"),
        (
            "2026-Q5",
            "\"2026-Q5\" is not a quarter; quarters run from Q1 to Q4",
        ),
        ("2026-Q0", "\"2026-Q0\" is not a quarter"),
        (
            "2026-1",
            "\"2026-1\" is not a period; write a month as 2026-10",
        ),
        ("26-10", "\"26-10\" is not a period"),
        ("2026/10", "\"2026/10\" is not a period"),
        ("2026-10-01", "\"2026-10-01\" is not a period"),
        ("2026-Q04", "\"2026-Q04\" is not a period"),
        ("", "\"\" is not a period"),
        ("0999-01", "999 is not a year of four digits"),
    ] {
        let err = text.parse::<SlaPeriod>().unwrap_err();
        assert_eq!(err.field(), Some("period"), "{text}: field");
        assert!(
            err.to_string().contains(expected),
            "{text}: {err} should say {expected}"
        );
    }
}

#[test]
fn a_period_of_the_other_window_kind_is_refused() {
    let sla = monthly(base_rules());
    let err = SlaReport::for_period("2026-Q4".parse().unwrap(), &sla, &[], at(LATER)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "period: 2026-Q4 is a quarter but the contract's SLA window is a month",
        "names both kinds"
    );
}

#[test]
fn terms_that_cannot_be_computed_are_refused_naming_the_field() {
    let base = monthly(base_rules());
    type Spoil = fn(&mut SlaTerms);
    let cases: [(&str, Spoil); 4] = [
        ("target_percent", |t| t.target_percent = Percent::ZERO),
        ("window_fee_minor", |t| t.window_fee_minor = -1),
        ("currency", |t| t.currency = "EURO".into()),
        ("currency", |t| t.currency = "eur".into()),
    ];
    for (field, spoil) in cases {
        let mut sla = base.clone();
        spoil(&mut sla);
        let err =
            SlaReport::for_period("2026-04".parse().unwrap(), &sla, &[], at(LATER)).unwrap_err();
        assert_eq!(err.field(), Some(field), "{err}");
    }
}

#[test]
fn percentages_are_exact_with_up_to_four_decimals() {
    for (text, millionths, printed) in [
        ("99.9", 999_000, "99.9"),
        ("99.95", 999_500, "99.95"),
        ("99.9999", 999_999, "99.9999"),
        ("100", 1_000_000, "100"),
        ("0", 0, "0"),
    ] {
        let p = percent(text);
        assert_eq!(p.millionths(), millionths, "{text} millionths");
        assert_eq!(p.to_string(), printed, "{text} prints");
    }
    for bad in ["100.0001", "99.99999", "-1", "99.", ".5", "1e2", "", "abc"] {
        assert!(bad.parse::<Percent>().is_err(), "{bad:?} is refused");
    }
    assert_eq!(
        Percent::from_f64("target", 99.9).unwrap().millionths(),
        999_000,
        "99.9 as a float is still exactly 99.9 %"
    );
    assert!(
        Percent::from_f64("target", 99.123_45).is_err(),
        "five decimals are refused"
    );
}

#[test]
fn terms_read_and_write_plain_json() {
    let json = r#"{
        "target_percent": 99.9,
        "window": "calendar_quarter",
        "time_zone": "America/New_York",
        "rules": {"maintenance": "excluded", "degraded": "as_up", "unknown": "as_down", "paused": "like_maintenance"},
        "credits": [{"below_percent": 99.9, "credit_percent": 10}],
        "window_fee_minor": 3000000,
        "currency": "USD"
    }"#;
    let sla: SlaTerms = serde_json::from_str(json).unwrap();
    assert_eq!(sla.target_percent, percent("99.9"), "target");
    assert_eq!(sla.time_zone, New_York, "zone");
    assert_eq!(sla.rules.unknown, TimeRule::AsDown, "unknown rule");
    let back: SlaTerms = serde_json::from_str(&serde_json::to_string(&sla).unwrap()).unwrap();
    assert_eq!(back, sla, "round trip");
    assert!(
        parse_time_zone("time_zone", "Europe/Berln")
            .unwrap_err()
            .to_string()
            .contains("\"Europe/Berln\" is not an IANA time zone"),
        "a misspelt zone is named"
    );
}
