//! The notification policy with fixed times: one notification per root cause, recoveries
//! with their duration, the resend cadence, quiet hours across a daylight-saving change,
//! degraded left quiet unless asked for, and dependency cycles that do not hang.

use std::time::Duration as StdDuration;

use chrono::{DateTime, NaiveTime, Utc};
use ecosystem_core::health::Transition;
use ecosystem_core::health_state::HealthState::{self, Degraded, Healthy, Unhealthy};
use ecosystem_core::notify::*;

fn t(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .with_timezone(&Utc)
}

fn tr(at: &str, from: HealthState, to: HealthState, reason: &str) -> Transition {
    Transition {
        at: t(at),
        from,
        to,
        reason: reason.into(),
        error_class: None,
    }
}

fn kinds(out: &[Notification]) -> Vec<(Option<&str>, NotificationKind)> {
    out.iter().map(|n| (n.partner.as_deref(), n.kind)).collect()
}

/// Databricks Prod with three workspaces that depend on it.
fn family(parent: HealthState, children: HealthState) -> PartnerView {
    PartnerView::new()
        .with("Databricks Prod", None, parent)
        .with("Workspace A", Some("Databricks Prod"), children)
        .with("Workspace B", Some("Databricks Prod"), children)
        .with("Workspace C", Some("Databricks Prod"), children)
}

const CHILDREN: [&str; 3] = ["Workspace A", "Workspace B", "Workspace C"];

#[test]
fn a_parent_down_with_its_three_children_gives_exactly_one_notification() {
    let view = family(Unhealthy, Unhealthy);
    let mut notifier = Notifier::new(NotificationPolicy::default());
    // Children first: the order within a batch must not matter.
    let mut batch: Vec<(String, Transition)> = CHILDREN
        .iter()
        .map(|c| {
            let down = tr("2025-06-15T10:00:00Z", Healthy, Unhealthy, "upstream 503");
            (c.to_string(), down)
        })
        .collect();
    batch.push((
        "Databricks Prod".into(),
        tr(
            "2025-06-15T10:00:00Z",
            Healthy,
            Unhealthy,
            "3 consecutive failed check(s): timeout",
        ),
    ));
    let out = notifier.on_transitions(&batch, &view, t("2025-06-15T10:00:05Z"));
    assert_eq!(
        kinds(&out),
        vec![(Some("Databricks Prod"), NotificationKind::Down)],
        "only the root cause notifies: {out:#?}"
    );
    assert_eq!(out[0].summary, "Databricks Prod is unhealthy", "summary");
    assert!(
        out[0].body.contains("timeout") && out[0].body.contains("since 2025-06-15 10:00:00 UTC"),
        "body gives the reason and since when: {}",
        out[0].body
    );
    let suppressed = notifier.suppressed();
    assert_eq!(
        suppressed.len(),
        3,
        "the children are recorded as suppressed"
    );
    assert!(
        suppressed.iter().all(|(_, root)| root == "Databricks Prod"),
        "under the root cause: {suppressed:?}"
    );
}

#[test]
fn a_child_down_alone_notifies() {
    let view = family(Healthy, Healthy).with("Workspace B", Some("Databricks Prod"), Unhealthy);
    let mut notifier = Notifier::new(NotificationPolicy::default());
    let down = tr(
        "2025-06-15T10:00:00Z",
        Healthy,
        Unhealthy,
        "401 unauthorized",
    );
    let out = notifier.on_transition("Workspace B", &down, &view, t("2025-06-15T10:00:00Z"));
    assert_eq!(
        kinds(&out),
        vec![(Some("Workspace B"), NotificationKind::Down)],
        "a child with a healthy parent is its own root cause"
    );
    assert_eq!(out[0].summary, "Workspace B is unhealthy", "summary");
}

fn with_grace(secs: u64) -> NotificationPolicy {
    NotificationPolicy {
        dependency_grace: Some(StdDuration::from_secs(secs)),
        ..NotificationPolicy::default()
    }
}

#[test]
fn children_that_fail_before_their_parent_wait_for_it_and_stay_quiet() {
    let mut notifier = Notifier::new(with_grace(60));
    // The children's checks come first: the parent still looks healthy.
    let mut view = family(Healthy, Unhealthy);
    for child in CHILDREN {
        let down = tr("2025-06-15T10:00:00Z", Healthy, Unhealthy, "upstream 503");
        let out = notifier.on_transition(child, &down, &view, t("2025-06-15T10:00:01Z"));
        assert!(out.is_empty(), "{child} waits for its parent: {out:#?}");
    }
    assert_eq!(notifier.waiting().len(), 3);
    assert!(
        notifier.tick(t("2025-06-15T10:00:30Z")).is_empty(),
        "still within the grace"
    );

    // The parent's own check fails 20 s later: it is the root cause.
    view.set_state("Databricks Prod", Unhealthy);
    let down = tr("2025-06-15T10:00:20Z", Healthy, Unhealthy, "timeout");
    let out = notifier.on_transition("Databricks Prod", &down, &view, t("2025-06-15T10:00:21Z"));
    assert_eq!(
        kinds(&out),
        vec![(Some("Databricks Prod"), NotificationKind::Down)]
    );
    assert!(
        notifier.waiting().is_empty(),
        "the children found their root cause"
    );
    assert_eq!(notifier.suppressed().len(), 3);
    assert!(
        notifier.tick(t("2025-06-15T10:05:00Z")).is_empty(),
        "the grace ending raises nothing for suppressed children"
    );

    // Everyone recovers: one recovery, the parent's.
    let view = family(Healthy, Healthy);
    let mut batch = vec![(
        "Databricks Prod".to_string(),
        tr(
            "2025-06-15T10:10:00Z",
            Unhealthy,
            Healthy,
            "2 consecutive successful check(s)",
        ),
    )];
    for child in CHILDREN {
        batch.push((
            child.to_string(),
            tr("2025-06-15T10:10:00Z", Unhealthy, Healthy, "ok"),
        ));
    }
    let out = notifier.on_transitions(&batch, &view, t("2025-06-15T10:10:01Z"));
    assert_eq!(
        kinds(&out),
        vec![(Some("Databricks Prod"), NotificationKind::Recovered)]
    );
}

#[test]
fn children_that_recover_a_moment_after_their_parent_stay_quiet() {
    let mut notifier = Notifier::new(with_grace(60));
    let view = family(Unhealthy, Unhealthy);
    let mut batch = vec![(
        "Databricks Prod".to_string(),
        tr("2025-06-15T10:00:00Z", Healthy, Unhealthy, "timeout"),
    )];
    for child in CHILDREN {
        batch.push((
            child.to_string(),
            tr("2025-06-15T10:00:00Z", Healthy, Unhealthy, "503"),
        ));
    }
    let out = notifier.on_transitions(&batch, &view, t("2025-06-15T10:00:01Z"));
    assert_eq!(
        kinds(&out),
        vec![(Some("Databricks Prod"), NotificationKind::Down)]
    );

    // The parent's check comes back first; its children are still down for a few seconds.
    let mut view = family(Healthy, Unhealthy);
    let up = tr(
        "2025-06-15T10:05:00Z",
        Unhealthy,
        Healthy,
        "2 consecutive successful check(s)",
    );
    let out = notifier.on_transition("Databricks Prod", &up, &view, t("2025-06-15T10:05:01Z"));
    assert_eq!(
        kinds(&out),
        vec![(Some("Databricks Prod"), NotificationKind::Recovered)]
    );
    assert_eq!(notifier.waiting().len(), 3, "the children get the grace");
    for (i, child) in CHILDREN.iter().enumerate() {
        view.set_state(child, Healthy);
        let at = format!("2025-06-15T10:05:0{}Z", i + 3);
        let up = tr(&at, Unhealthy, Healthy, "ok");
        let out = notifier.on_transition(child, &up, &view, t(&at));
        assert!(out.is_empty(), "{child} was never announced: {out:#?}");
    }
    assert!(notifier.tick(t("2025-06-15T10:10:00Z")).is_empty());

    // One that stays down is announced when the grace ends, saying why it is news.
    let view = family(Unhealthy, Unhealthy);
    notifier.on_transitions(&batch, &view, t("2025-06-15T11:00:01Z"));
    let view = family(Healthy, Healthy).with("Workspace C", Some("Databricks Prod"), Unhealthy);
    let up = tr("2025-06-15T11:05:00Z", Unhealthy, Healthy, "ok");
    notifier.on_transition("Databricks Prod", &up, &view, t("2025-06-15T11:05:00Z"));
    for child in ["Workspace A", "Workspace B"] {
        notifier.on_transition(child, &up, &view, t("2025-06-15T11:05:02Z"));
    }
    let out = notifier.tick(t("2025-06-15T11:06:00Z"));
    assert_eq!(
        kinds(&out),
        vec![(Some("Workspace C"), NotificationKind::Down)]
    );
    assert!(
        out[0]
            .body
            .contains("still down after Databricks Prod recovered"),
        "{}",
        out[0].body
    );
}

#[test]
fn a_child_down_on_its_own_is_announced_when_the_grace_ends() {
    let mut notifier = Notifier::new(with_grace(60));
    let view = family(Healthy, Healthy).with("Workspace B", Some("Databricks Prod"), Unhealthy);
    let down = tr(
        "2025-06-15T10:00:00Z",
        Healthy,
        Unhealthy,
        "401 unauthorized",
    );
    assert!(notifier
        .on_transition("Workspace B", &down, &view, t("2025-06-15T10:00:00Z"))
        .is_empty());
    assert!(notifier.tick(t("2025-06-15T10:00:59Z")).is_empty());
    let out = notifier.tick(t("2025-06-15T10:01:00Z"));
    assert_eq!(
        kinds(&out),
        vec![(Some("Workspace B"), NotificationKind::Down)]
    );
    assert!(out[0].body.contains("401 unauthorized"), "{}", out[0].body);
    assert!(
        notifier.tick(t("2025-06-15T10:02:00Z")).is_empty(),
        "announced once"
    );
    assert_eq!(notifier.announced(), ["Workspace B"]);

    // A partner without a parent never waits.
    let view = view.with("Snowflake", None, Unhealthy);
    let out = notifier.on_transition("Snowflake", &down, &view, t("2025-06-15T10:03:00Z"));
    assert_eq!(
        kinds(&out),
        vec![(Some("Snowflake"), NotificationKind::Down)]
    );
}

#[test]
fn a_child_that_recovers_within_the_grace_says_nothing_at_all() {
    let mut notifier = Notifier::new(with_grace(60));
    let view = family(Healthy, Healthy).with("Workspace A", Some("Databricks Prod"), Unhealthy);
    let down = tr("2025-06-15T10:00:00Z", Healthy, Unhealthy, "timeout");
    assert!(notifier
        .on_transition("Workspace A", &down, &view, t("2025-06-15T10:00:00Z"))
        .is_empty());
    let view = family(Healthy, Healthy);
    let up = tr("2025-06-15T10:00:30Z", Unhealthy, Healthy, "ok");
    assert!(
        notifier
            .on_transition("Workspace A", &up, &view, t("2025-06-15T10:00:30Z"))
            .is_empty(),
        "nobody was told it was down"
    );
    assert!(notifier.tick(t("2025-06-15T10:05:00Z")).is_empty());
    assert!(notifier.waiting().is_empty() && notifier.announced().is_empty());
}

#[test]
fn a_recovery_notifies_once_with_the_outage_duration() {
    let mut view = PartnerView::new().with("Databricks Prod", None, Unhealthy);
    let mut notifier = Notifier::new(NotificationPolicy::default());
    let down = tr("2025-06-15T10:00:00Z", Healthy, Unhealthy, "timeout");
    notifier.on_transition("Databricks Prod", &down, &view, t("2025-06-15T10:00:00Z"));
    view.set_state("Databricks Prod", Healthy);
    let up = tr(
        "2025-06-15T11:05:00Z",
        Unhealthy,
        Healthy,
        "recovered after 2 successful check(s)",
    );
    let out = notifier.on_transition("Databricks Prod", &up, &view, t("2025-06-15T11:05:00Z"));
    assert_eq!(
        kinds(&out),
        vec![(Some("Databricks Prod"), NotificationKind::Recovered)],
        "one recovery: {out:#?}"
    );
    assert_eq!(out[0].summary, "Databricks Prod recovered", "summary");
    assert!(
        out[0].body.contains("1 h 5 min"),
        "body gives the outage duration: {}",
        out[0].body
    );
    let again = notifier.on_transition("Databricks Prod", &up, &view, t("2025-06-15T11:06:00Z"));
    assert!(again.is_empty(), "a repeated recovery is not re-announced");
    assert!(
        notifier.tick(t("2025-06-15T12:00:00Z")).is_empty(),
        "and nothing is left"
    );
}

#[test]
fn when_the_root_recovers_only_children_still_down_on_their_own_notify() {
    let mut view = family(Unhealthy, Unhealthy);
    let mut notifier = Notifier::new(NotificationPolicy::default());
    let mut batch = vec![(
        "Databricks Prod".to_string(),
        tr("2025-06-15T10:00:00Z", Healthy, Unhealthy, "timeout"),
    )];
    for c in CHILDREN {
        batch.push((
            c.into(),
            tr("2025-06-15T10:01:00Z", Healthy, Unhealthy, "503"),
        ));
    }
    notifier.on_transitions(&batch, &view, t("2025-06-15T10:01:00Z"));

    // Workspace A recovered on its own first: silent, its down was never announced.
    view.set_state("Workspace A", Healthy);
    let a_up = tr("2025-06-15T10:20:00Z", Unhealthy, Healthy, "recovered");
    let out = notifier.on_transition("Workspace A", &a_up, &view, t("2025-06-15T10:20:00Z"));
    assert!(
        out.is_empty(),
        "a suppressed child's recovery is silent: {out:#?}"
    );

    // The root and Workspace B recover together; Workspace C stays down on its own.
    view.set_state("Databricks Prod", Healthy);
    view.set_state("Workspace B", Healthy);
    let batch = vec![
        (
            "Databricks Prod".to_string(),
            tr("2025-06-15T10:30:00Z", Unhealthy, Healthy, "recovered"),
        ),
        (
            "Workspace B".to_string(),
            tr("2025-06-15T10:30:00Z", Unhealthy, Healthy, "recovered"),
        ),
    ];
    let out = notifier.on_transitions(&batch, &view, t("2025-06-15T10:30:00Z"));
    assert_eq!(
        kinds(&out),
        vec![
            (Some("Databricks Prod"), NotificationKind::Recovered),
            (Some("Workspace C"), NotificationKind::Down),
        ],
        "one recovery for the root, then the child still down on its own: {out:#?}"
    );
    assert!(
        out[1].body.contains("since 2025-06-15 10:01:00 UTC")
            && out[1].body.contains("after Databricks Prod recovered"),
        "the child keeps its own since and says why it speaks now: {}",
        out[1].body
    );
}

#[test]
fn still_down_is_resent_on_a_fixed_cadence_without_a_burst() {
    let view = PartnerView::new().with("Databricks Prod", None, Unhealthy);
    let policy = NotificationPolicy {
        resend_every: Some(StdDuration::from_secs(30 * 60)),
        ..NotificationPolicy::default()
    };
    let mut notifier = Notifier::new(policy);
    let down = tr("2025-06-15T10:00:00Z", Healthy, Unhealthy, "timeout");
    notifier.on_transition("Databricks Prod", &down, &view, t("2025-06-15T10:00:00Z"));

    let mut resent = Vec::new();
    // A tick every minute for two hours, then a gap of an hour and a half.
    let mut ticks: Vec<DateTime<Utc>> = (1..=120)
        .map(|m| t("2025-06-15T10:00:00Z") + chrono::Duration::minutes(m))
        .collect();
    ticks.push(t("2025-06-15T13:31:00Z"));
    for now in ticks {
        for n in notifier.tick(now) {
            assert_eq!(n.kind, NotificationKind::StillDown, "only resends: {n:?}");
            resent.push((n.at, n.summary));
        }
    }
    let at: Vec<DateTime<Utc>> = resent.iter().map(|(at, _)| *at).collect();
    assert_eq!(
        at,
        vec![
            t("2025-06-15T10:30:00Z"),
            t("2025-06-15T11:00:00Z"),
            t("2025-06-15T11:30:00Z"),
            t("2025-06-15T12:00:00Z"),
            t("2025-06-15T13:31:00Z"),
        ],
        "every 30 min, and one (not three) after a gap"
    );
    assert_eq!(resent[0].1, "Databricks Prod is still unhealthy", "summary");
}

#[test]
fn without_a_resend_cadence_ticks_raise_nothing() {
    let view = PartnerView::new().with("Databricks Prod", None, Unhealthy);
    let mut notifier = Notifier::new(NotificationPolicy::default());
    let down = tr("2025-06-15T10:00:00Z", Healthy, Unhealthy, "timeout");
    notifier.on_transition("Databricks Prod", &down, &view, t("2025-06-15T10:00:00Z"));
    assert!(
        notifier.tick(t("2025-06-16T10:00:00Z")).is_empty(),
        "no resend unless asked for"
    );
}

fn berlin_nights() -> QuietHours {
    QuietHours {
        start: NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
        end: NaiveTime::from_hms_opt(7, 0, 0).unwrap(),
        time_zone: chrono_tz::Europe::Berlin,
    }
}

#[test]
fn quiet_hours_wrap_midnight_on_the_berlin_wall_clock_across_daylight_saving() {
    let q = berlin_nights();
    let cases = [
        // Winter (CET, UTC+1): 22:00–07:00 local is 21:00–06:00 UTC.
        ("2025-03-29T20:59:00Z", false),
        ("2025-03-29T21:00:00Z", true),
        ("2025-03-29T23:30:00Z", true),
        // Spring forward on 2025-03-30 at 01:00 UTC: the night ends at 05:00 UTC.
        ("2025-03-30T04:59:00Z", true),
        ("2025-03-30T05:00:00Z", false),
        // Summer (CEST, UTC+2): 22:00 local is 20:00 UTC.
        ("2025-03-30T20:00:00Z", true),
        // Fall back on 2025-10-26 at 01:00 UTC: the night ends at 06:00 UTC.
        ("2025-10-26T05:59:00Z", true),
        ("2025-10-26T06:00:00Z", false),
    ];
    for (at, quiet) in cases {
        assert_eq!(q.contains(t(at)), quiet, "quiet at {at}");
    }
}

#[test]
fn nothing_is_raised_during_quiet_hours_and_one_digest_follows_them() {
    let policy = NotificationPolicy {
        resend_every: Some(StdDuration::from_secs(3600)),
        quiet_hours: Some(berlin_nights()),
        notify_degraded: false,
        dependency_grace: None,
    };
    let mut notifier = Notifier::new(policy);
    let mut view = PartnerView::new()
        .with("Databricks Prod", None, Unhealthy)
        .with("Snowflake", None, Healthy)
        .with("Stripe", None, Healthy);

    // 21:00 CET on the Saturday before the clocks change: not quiet yet.
    let down = tr("2025-03-29T20:00:00Z", Healthy, Unhealthy, "timeout");
    let out = notifier.on_transition("Databricks Prod", &down, &view, t("2025-03-29T20:00:00Z"));
    assert_eq!(out.len(), 1, "before quiet hours the down is raised");

    let mut raised = Vec::new();
    view.set_state("Snowflake", Unhealthy);
    let snow = tr("2025-03-29T22:10:00Z", Healthy, Unhealthy, "403 forbidden");
    raised.extend(notifier.on_transition("Snowflake", &snow, &view, t("2025-03-29T22:10:00Z")));
    view.set_state("Stripe", Unhealthy);
    let stripe = tr("2025-03-29T23:00:00Z", Healthy, Unhealthy, "DNS failure");
    raised.extend(notifier.on_transition("Stripe", &stripe, &view, t("2025-03-29T23:00:00Z")));
    view.set_state("Stripe", Healthy);
    let stripe_up = tr("2025-03-29T23:40:00Z", Unhealthy, Healthy, "recovered");
    raised.extend(notifier.on_transition("Stripe", &stripe_up, &view, t("2025-03-29T23:40:00Z")));
    view.set_state("Databricks Prod", Healthy);
    let dbx_up = tr("2025-03-30T02:00:00Z", Unhealthy, Healthy, "recovered");
    raised.extend(notifier.on_transition(
        "Databricks Prod",
        &dbx_up,
        &view,
        t("2025-03-30T02:00:00Z"),
    ));
    // Ticks every minute through the night (resends due meanwhile), up to 06:59 CEST.
    let mut now = t("2025-03-29T21:00:00Z");
    while now < t("2025-03-30T05:00:00Z") {
        raised.extend(notifier.tick(now));
        now += chrono::Duration::minutes(1);
    }
    assert!(raised.is_empty(), "nothing raised while quiet: {raised:#?}");

    // 07:00 CEST is 05:00 UTC after the spring forward (it would be 06:00 UTC in winter).
    let out = notifier.tick(t("2025-03-30T05:00:00Z"));
    assert_eq!(
        kinds(&out),
        vec![(None, NotificationKind::SuppressedDigest)],
        "one digest when quiet hours end: {out:#?}"
    );
    let digest = &out[0];
    assert_eq!(
        digest.summary, "During quiet hours: 1 down, 2 recovered",
        "summary counts"
    );
    assert_eq!(digest.state, Unhealthy, "something is still down");
    assert!(
        digest
            .body
            .contains("Snowflake is unhealthy since 2025-03-29 22:10:00 UTC")
            && digest.body.contains("Stripe recovered after 40 min")
            && digest.body.contains("Databricks Prod recovered after 6 h"),
        "down now and recovered meanwhile: {}",
        digest.body
    );
    assert!(
        notifier.tick(t("2025-03-30T05:01:00Z")).is_empty(),
        "the digest is raised once"
    );
    let resends = notifier.tick(t("2025-03-30T05:10:00Z"));
    assert_eq!(
        kinds(&resends),
        vec![(Some("Snowflake"), NotificationKind::StillDown)],
        "the cadence goes on after quiet hours, one resend and no burst"
    );
}

#[test]
fn degraded_does_not_notify_unless_enabled() {
    let view = PartnerView::new().with("Databricks Prod", None, Degraded);
    let slow = tr(
        "2025-06-15T10:00:00Z",
        Healthy,
        Degraded,
        "the platform reports itself slow",
    );
    let back = tr("2025-06-15T10:20:00Z", Degraded, Healthy, "checks pass");

    let mut quiet = Notifier::new(NotificationPolicy::default());
    let out = quiet.on_transition("Databricks Prod", &slow, &view, t("2025-06-15T10:00:00Z"));
    assert!(out.is_empty(), "degraded is silent by default: {out:#?}");
    let out = quiet.on_transition("Databricks Prod", &back, &view, t("2025-06-15T10:20:00Z"));
    assert!(out.is_empty(), "and so is its end: {out:#?}");

    let mut loud = Notifier::new(NotificationPolicy {
        notify_degraded: true,
        ..NotificationPolicy::default()
    });
    let out = loud.on_transition("Databricks Prod", &slow, &view, t("2025-06-15T10:00:00Z"));
    assert_eq!(
        kinds(&out),
        vec![(Some("Databricks Prod"), NotificationKind::Down)],
        "degraded notifies when enabled"
    );
    assert_eq!(out[0].summary, "Databricks Prod is degraded", "summary");
    let out = loud.on_transition("Databricks Prod", &back, &view, t("2025-06-15T10:20:00Z"));
    assert_eq!(
        kinds(&out),
        vec![(Some("Databricks Prod"), NotificationKind::Recovered)],
        "and its end is a recovery"
    );
}

#[test]
fn a_dependency_cycle_does_not_hang_and_one_member_notifies() {
    // A -> B -> C -> A, all down at once; D hangs below the cycle.
    let view = PartnerView::new()
        .with("A", Some("C"), Unhealthy)
        .with("B", Some("A"), Unhealthy)
        .with("C", Some("B"), Unhealthy)
        .with("D", Some("C"), Unhealthy)
        .with("Self", Some("Self"), Unhealthy);
    for order in [["A", "B", "C", "D"], ["D", "C", "B", "A"]] {
        let mut notifier = Notifier::new(NotificationPolicy::default());
        let batch: Vec<(String, Transition)> = order
            .iter()
            .map(|p| {
                let down = tr("2025-06-15T10:00:00Z", Healthy, Unhealthy, "timeout");
                (p.to_string(), down)
            })
            .collect();
        let out = notifier.on_transitions(&batch, &view, t("2025-06-15T10:00:00Z"));
        assert_eq!(
            kinds(&out),
            vec![(Some("A"), NotificationKind::Down)],
            "one notification for the cycle, in order {order:?}"
        );
        assert_eq!(notifier.suppressed().len(), 3, "B, C and D under A");
    }
    let mut notifier = Notifier::new(NotificationPolicy::default());
    let down = tr("2025-06-15T10:00:00Z", Healthy, Unhealthy, "timeout");
    let out = notifier.on_transition("Self", &down, &view, t("2025-06-15T10:00:00Z"));
    assert_eq!(out.len(), 1, "a partner depending on itself still notifies");
}

#[test]
fn durations_read_as_people_say_them() {
    let cases = [
        (45, "45 s"),
        (12 * 60, "12 min"),
        (3600, "1 h"),
        (3900, "1 h 5 min"),
        (2 * 86_400 + 3 * 3600 + 60, "2 d 3 h"),
    ];
    for (secs, text) in cases {
        assert_eq!(
            human_duration(chrono::Duration::seconds(secs)),
            text,
            "{secs} s"
        );
    }
}

#[test]
fn the_policy_comes_from_the_settings() {
    let settings = [
        ("notifications.resend_minutes", "30"),
        ("notifications.quiet_hours", "22:00-07:30"),
        ("notifications.time_zone", "Europe/Berlin"),
        ("notifications.degraded", "1"),
        ("health.poll_in_app", "0"),
    ];
    let policy = NotificationPolicy::from_settings(settings).unwrap();
    assert_eq!(policy.resend_every, Some(StdDuration::from_secs(1_800)));
    assert!(policy.notify_degraded);
    let quiet = policy.quiet_hours.unwrap();
    assert_eq!(quiet.time_zone, chrono_tz::Europe::Berlin);
    assert_eq!(quiet.start, NaiveTime::from_hms_opt(22, 0, 0).unwrap());
    assert_eq!(quiet.end, NaiveTime::from_hms_opt(7, 30, 0).unwrap());

    assert_eq!(policy.dependency_grace, Some(DEFAULT_DEPENDENCY_GRACE));

    let defaults = NotificationPolicy::from_settings([]).unwrap();
    assert_eq!(
        defaults,
        NotificationPolicy {
            dependency_grace: Some(DEFAULT_DEPENDENCY_GRACE),
            ..NotificationPolicy::default()
        }
    );
    let never = NotificationPolicy::from_settings([
        ("notifications.resend_minutes", "0"),
        ("notifications.quiet_hours", "off"),
        ("notifications.dependency_grace_secs", "0"),
    ])
    .unwrap();
    assert_eq!(never, NotificationPolicy::default());
}

#[test]
fn a_bad_stored_notification_setting_names_itself() {
    for (key, value) in [
        ("notifications.quiet_hours", "22:00"),
        ("notifications.quiet_hours", "25:00-07:00"),
        ("notifications.quiet_hours", "07:00-07:00"),
        ("notifications.time_zone", "Mars/Olympus"),
        ("notifications.resend_minutes", "-5"),
        ("notifications.degraded", "yes"),
    ] {
        let err = NotificationPolicy::from_settings([(key, value)]).unwrap_err();
        assert!(err.to_string().contains(key), "{key}={value}: {err}");
    }
}
