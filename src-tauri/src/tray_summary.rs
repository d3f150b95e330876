//! What the tray icon says about the partners, without any window-system code: the colour
//! (the worst current state), the tooltip, the menu's counts and which partners it links to,
//! and the icon's pixels. [`crate::tray`] puts it on screen.

use ecosystem_core::health_state::HealthState;

/// How many unhealthy partners the menu links to; the rest are counted in one line.
pub const MAX_LINKED: usize = 5;

/// The icon's colour: the worst state among the partners being checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayLevel {
    /// No partner, or none with a known state (never checked, paused, in maintenance).
    Unknown,
    Healthy,
    Degraded,
    Unhealthy,
}

impl TrayLevel {
    /// Opaque RGB of the icon's disc.
    pub fn rgb(self) -> [u8; 3] {
        match self {
            TrayLevel::Unknown => [0x8a, 0x8f, 0x98],
            TrayLevel::Healthy => [0x2e, 0x9d, 0x4b],
            TrayLevel::Degraded => [0xe0, 0xa0, 0x21],
            TrayLevel::Unhealthy => [0xd3, 0x3a, 0x3a],
        }
    }
}

/// Everything the tray shows, computed from every partner's current state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraySummary {
    pub level: TrayLevel,
    /// Partners per state, in [`HealthState::ALL`] order, states with no partner left out.
    pub counts: Vec<(HealthState, usize)>,
    /// The unhealthy partners the menu links to (at most [`MAX_LINKED`], by name).
    pub linked: Vec<String>,
    /// Unhealthy partners beyond those linked.
    pub more_unhealthy: usize,
}

impl TraySummary {
    /// Summarises `(partner, state)` pairs, in any order.
    pub fn from_states<'a>(states: impl IntoIterator<Item = (&'a str, HealthState)>) -> Self {
        let mut tally = [0usize; 6];
        let mut unhealthy: Vec<&str> = Vec::new();
        for (partner, state) in states {
            tally[index(state)] += 1;
            if state == HealthState::Unhealthy {
                unhealthy.push(partner);
            }
        }
        let count = |s: HealthState| tally[index(s)];
        let level = if count(HealthState::Unhealthy) > 0 {
            TrayLevel::Unhealthy
        } else if count(HealthState::Degraded) > 0 {
            TrayLevel::Degraded
        } else if count(HealthState::Healthy) > 0 {
            TrayLevel::Healthy
        } else {
            TrayLevel::Unknown
        };
        unhealthy.sort_unstable_by(|a, b| a.to_lowercase().cmp(&b.to_lowercase()).then(a.cmp(b)));
        let more_unhealthy = unhealthy.len().saturating_sub(MAX_LINKED);
        TraySummary {
            level,
            counts: HealthState::ALL
                .iter()
                .map(|&s| (s, count(s)))
                .filter(|&(_, n)| n > 0)
                .collect(),
            linked: unhealthy
                .into_iter()
                .take(MAX_LINKED)
                .map(str::to_string)
                .collect(),
            more_unhealthy,
        }
    }

    /// One menu line per state with partners, e.g. `2 unhealthy`; `No partners` when empty.
    pub fn count_lines(&self) -> Vec<String> {
        if self.counts.is_empty() {
            return vec!["No partners".to_string()];
        }
        self.counts
            .iter()
            .map(|(s, n)| format!("{n} {}", s.as_str()))
            .collect()
    }

    /// The tooltip: the app's name and the counts on one line.
    pub fn tooltip(&self) -> String {
        format!("Ecosystem: {}", self.count_lines().join(", "))
    }

    /// The line under the partner links when there are more unhealthy partners than links.
    pub fn more_line(&self) -> Option<String> {
        (self.more_unhealthy > 0).then(|| format!("and {} more unhealthy", self.more_unhealthy))
    }
}

fn index(state: HealthState) -> usize {
    HealthState::ALL
        .iter()
        .position(|&s| s == state)
        .expect("every state is in HealthState::ALL")
}

/// Side of the square icon, in pixels.
pub const ICON_SIZE: u32 = 32;

/// The icon's pixels (RGBA, row by row, [`ICON_SIZE`] square): a disc in the level's colour
/// with a darker rim, on a transparent background, edges smoothed.
pub fn icon_rgba(level: TrayLevel) -> Vec<u8> {
    let size = ICON_SIZE as usize;
    let [r, g, b] = level.rgb();
    let rim = [r / 2, g / 2, b / 2];
    let centre = (size as f32 - 1.0) / 2.0;
    let radius = size as f32 / 2.0 - 1.0;
    let mut pixels = Vec::with_capacity(size * size * 4);
    for y in 0..size {
        for x in 0..size {
            let d = ((x as f32 - centre).powi(2) + (y as f32 - centre).powi(2)).sqrt();
            // Coverage of the pixel by the disc, smoothed over one pixel at the edge.
            let alpha = (radius + 0.5 - d).clamp(0.0, 1.0);
            let [pr, pg, pb] = if d > radius - 2.0 { rim } else { [r, g, b] };
            pixels.extend_from_slice(&[pr, pg, pb, (alpha * 255.0).round() as u8]);
        }
    }
    pixels
}

#[cfg(test)]
mod tests {
    use super::*;
    use HealthState::*;

    fn summary(states: &[(&str, HealthState)]) -> TraySummary {
        TraySummary::from_states(states.iter().map(|&(p, s)| (p, s)))
    }

    #[test]
    fn the_level_is_the_worst_known_state() {
        assert_eq!(summary(&[]).level, TrayLevel::Unknown);
        assert_eq!(
            summary(&[("a", Unknown), ("b", Paused), ("c", Maintenance)]).level,
            TrayLevel::Unknown
        );
        assert_eq!(
            summary(&[("a", Healthy), ("b", Unknown)]).level,
            TrayLevel::Healthy
        );
        assert_eq!(
            summary(&[("a", Healthy), ("b", Degraded), ("c", Paused)]).level,
            TrayLevel::Degraded
        );
        assert_eq!(
            summary(&[("a", Degraded), ("b", Unhealthy), ("c", Healthy)]).level,
            TrayLevel::Unhealthy
        );
    }

    #[test]
    fn counts_follow_the_state_order_and_skip_empty_states() {
        let s = summary(&[
            ("a", Unhealthy),
            ("b", Healthy),
            ("c", Healthy),
            ("d", Paused),
        ]);
        assert_eq!(s.counts, vec![(Healthy, 2), (Unhealthy, 1), (Paused, 1)]);
        assert_eq!(
            s.count_lines(),
            vec!["2 healthy", "1 unhealthy", "1 paused"]
        );
        assert_eq!(s.tooltip(), "Ecosystem: 2 healthy, 1 unhealthy, 1 paused");
    }

    #[test]
    fn no_partners_reads_as_such() {
        let s = summary(&[]);
        assert!(s.counts.is_empty());
        assert_eq!(s.tooltip(), "Ecosystem: No partners");
        assert!(s.linked.is_empty());
        assert_eq!(s.more_line(), None);
    }

    #[test]
    fn links_at_most_five_unhealthy_partners_by_name() {
        let names = ["zeta", "Alpha", "beta", "eta", "delta", "gamma", "epsilon"];
        let mut states: Vec<(&str, HealthState)> = names.iter().map(|&n| (n, Unhealthy)).collect();
        states.push(("healthy-one", Healthy));
        states.push(("slow-one", Degraded));
        let s = summary(&states);
        assert_eq!(s.linked, vec!["Alpha", "beta", "delta", "epsilon", "eta"]);
        assert_eq!(s.more_unhealthy, 2);
        assert_eq!(s.more_line().as_deref(), Some("and 2 more unhealthy"));
    }

    #[test]
    fn only_unhealthy_partners_are_linked() {
        let s = summary(&[("a", Degraded), ("b", Unknown), ("c", Unhealthy)]);
        assert_eq!(s.linked, vec!["c"]);
        assert_eq!(s.more_unhealthy, 0);
    }

    #[test]
    fn the_icon_is_a_disc_of_the_level_colour_on_transparency() {
        for level in [
            TrayLevel::Unknown,
            TrayLevel::Healthy,
            TrayLevel::Degraded,
            TrayLevel::Unhealthy,
        ] {
            let px = icon_rgba(level);
            let size = ICON_SIZE as usize;
            assert_eq!(px.len(), size * size * 4);
            let at = |x: usize, y: usize| &px[(y * size + x) * 4..(y * size + x) * 4 + 4];
            let [r, g, b] = level.rgb();
            assert_eq!(at(size / 2, size / 2), &[r, g, b, 255], "{level:?} centre");
            assert_eq!(at(0, 0)[3], 0, "{level:?} corner is transparent");
        }
        assert_ne!(
            icon_rgba(TrayLevel::Healthy),
            icon_rgba(TrayLevel::Unhealthy)
        );
    }
}
