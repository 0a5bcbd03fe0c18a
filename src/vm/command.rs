//! The nix command line that builds (= runs) one VM test, or its interactive driver.

use std::path::Path;
use std::time::Duration;

use crate::context::Context;
use crate::nix::NixCommand;

/// What to build of a scenario's check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The test run derivation: building it boots the VMs and runs the test script.
    Run,
    /// `.driverInteractive`: a driver to start by hand (`start_all()`, `machine.shell_interact()`).
    InteractiveDriver,
}

/// `checks.<system>.<name>` (or its `.driverInteractive`).
pub fn check_attr(system: &str, name: &str, target: Target) -> String {
    match target {
        Target::Run => format!("checks.{system}.{name}"),
        Target::InteractiveDriver => format!("checks.{system}.{name}.driverInteractive"),
    }
}

/// `nix build <flake>#checks.<system>.<name> -L --out-link <run dir>/result --print-out-paths`,
/// with the run's overrides, streaming the build log (prefixed with the scenario) as progress.
pub fn build_command(
    ctx: &Context,
    system: &str,
    name: &str,
    target: Target,
    out_link: &Path,
    timeout: Duration,
) -> NixCommand {
    ctx.nix_flake_command(["build"])
        .args([
            "--print-build-logs".to_owned(),
            "--out-link".to_owned(),
            out_link.display().to_string(),
            "--print-out-paths".to_owned(),
            ctx.installable(&check_attr(system, name, target)),
        ])
        .timeout(timeout)
        .stream_stderr(format!("[{name}] "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::overrides::Overrides;
    use std::path::PathBuf;

    fn ctx() -> Context {
        Context {
            flake_dir: PathBuf::from("/src/nixos-inventree"),
            overrides: Overrides::default(),
            nix_timeout: Duration::from_secs(60),
        }
    }

    #[test]
    fn builds_the_check_with_logs_and_an_out_link_in_the_run_dir() {
        let cmd = build_command(
            &ctx(),
            "x86_64-linux",
            "defaults",
            Target::Run,
            Path::new("/runs/t/defaults/result"),
            Duration::from_secs(1800),
        );
        let argv = cmd.argv();
        assert_eq!(argv[0..2], ["nix", "build"]);
        let rest = argv[2..].join(" ");
        assert!(
            rest.ends_with(
                "--print-build-logs --out-link /runs/t/defaults/result --print-out-paths \
                 /src/nixos-inventree#checks.x86_64-linux.defaults"
            ),
            "{rest}"
        );
    }

    #[test]
    fn the_interactive_driver_is_the_checks_driver_interactive() {
        assert_eq!(
            check_attr("aarch64-linux", "mysql", Target::InteractiveDriver),
            "checks.aarch64-linux.mysql.driverInteractive"
        );
    }
}
