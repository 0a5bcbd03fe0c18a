//! Where a restart's time went, from systemd's own timestamps (monotonic, µs): when each unit
//! began stopping, was stopped, began starting and was started — relative to the first unit
//! that began stopping. Figures for the restart scenario's report.

use super::deployment::Deployment;

/// The four transitions of a unit, in µs of the container's monotonic clock (0: never).
const TRANSITIONS: [(&str, &str); 4] = [
    ("ActiveExitTimestampMonotonic", "stopping"),
    ("InactiveEnterTimestampMonotonic", "stopped"),
    ("InactiveExitTimestampMonotonic", "starting"),
    ("ActiveEnterTimestampMonotonic", "started"),
];

/// `unit: stopping +0.0 s, stopped +4.1 s, starting +4.3 s, started +4.3 s; …` for `units`.
pub async fn restart_timeline(d: &Deployment, units: &[&str]) -> anyhow::Result<String> {
    let mut rows = Vec::new();
    for unit in units {
        let mut stamps = Vec::new();
        for (property, _) in TRANSITIONS {
            let value = d.container.property(unit, property).await?;
            stamps.push(value.parse::<u64>().unwrap_or(0));
        }
        rows.push((*unit, stamps));
    }
    Ok(render(&rows))
}

fn render(rows: &[(&str, Vec<u64>)]) -> String {
    let origin = rows
        .iter()
        .filter_map(|(_, stamps)| stamps.first().copied().filter(|t| *t > 0))
        .min()
        .unwrap_or(0);
    rows.iter()
        .map(|(unit, stamps)| {
            let moments: Vec<String> = TRANSITIONS
                .iter()
                .zip(stamps)
                .filter(|(_, t)| **t >= origin && **t > 0)
                .map(|((_, label), t)| {
                    format!("{label} +{:.1} s", (t - origin) as f64 / 1_000_000.0)
                })
                .collect();
            format!(
                "{}: {}",
                unit.trim_end_matches(".service"),
                moments.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_are_relative_to_the_first_unit_that_began_stopping() {
        let rows = [
            (
                "inventree-server.service",
                vec![10_000_000, 10_500_000, 14_200_000, 14_200_000],
            ),
            (
                "inventree-cluster.service",
                vec![9_000_000, 13_100_000, 14_000_000, 14_100_000],
            ),
        ];
        assert_eq!(
            render(&rows),
            "inventree-server: stopping +1.0 s, stopped +1.5 s, starting +5.2 s, started +5.2 s; \
             inventree-cluster: stopping +0.0 s, stopped +4.1 s, starting +5.0 s, started +5.1 s"
        );
    }

    #[test]
    fn transitions_before_the_restart_or_never_made_are_left_out() {
        // A oneshot that stayed active across the restart: its stamps predate it.
        let rows = [
            ("inventree-setup.service", vec![0, 0, 1_000_000, 2_000_000]),
            (
                "inventree-server.service",
                vec![9_000_000, 9_500_000, 10_000_000, 0],
            ),
        ];
        assert_eq!(
            render(&rows),
            "inventree-setup: ; inventree-server: stopping +0.0 s, stopped +0.5 s, starting +1.0 s"
        );
    }
}
