//! The admin commands the module puts on the PATH (`module/admin.nix`), as an admin runs them:
//! `inventree-invoke` and `inventree-manage` are `systemd-run` transient units with the service's
//! user, environment, credentials and sandbox; they refuse to run for anyone but root, and pass
//! output and exit status through.

use std::path::Path;

use anyhow::Context as _;

use super::{
    deployment::{Deployment, StandIns},
    prerequisites::SystemdEnv,
    scenarios::{deploy_from_template, service_user, Template, ADMIN_TIMEOUT, START_TIMEOUT},
};
use crate::host::{plan::HostPlan, scenarios::ScenarioReport};

/// `inventree-invoke version`'s line for `label` (`Config      /var/lib/inventree/config.yaml`).
fn version_line<'a>(output: &'a str, label: &str) -> Option<&'a str> {
    output
        .lines()
        .find_map(|l| l.strip_prefix(label))
        .map(str::trim)
}

pub async fn admin_commands(
    flake_dir: &Path,
    env: &SystemdEnv,
    stand_ins: &StandIns,
    plan: &HostPlan,
    template: &Template,
) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("admin commands");
    let d = deploy_from_template(flake_dir, env, stand_ins, plan, template).await?;
    d.systemctl("start", &["inventree-setup.service"], START_TIMEOUT)
        .await?;

    let version = d
        .container
        .exec_ok(&["inventree-invoke", "version"], ADMIN_TIMEOUT)
        .await
        .context("inventree-invoke version")?;
    let config_file = &plan.internal.environment["INVENTREE_CONFIG_FILE"];
    let media_root = plan.internal.settings["media_root"]
        .as_str()
        .context("no media_root")?;
    for (label, expected) in [("Config", config_file.as_str()), ("Media", media_root)] {
        let found = version_line(&version, label);
        anyhow::ensure!(
            found == Some(expected),
            "inventree-invoke version shows {label} {found:?}, the service has {expected}:\n{version}"
        );
    }
    report.check(format!(
        "inventree-invoke version: the service's config ({config_file}) and media root ({media_root}), InvenTree {}",
        version_line(&version, "InvenTree  ").unwrap_or("?")
    ));

    manage_shell_runs_in_the_service_sandbox(&d, plan, &mut report).await?;

    let as_nobody = d
        .container
        .exec(
            &[
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "inventree-manage",
                "check",
            ],
            ADMIN_TIMEOUT,
        )
        .await?;
    anyhow::ensure!(
        !as_nobody.success && as_nobody.output.contains("run it as root"),
        "inventree-manage run by an unprivileged user did not refuse (exit {:?}):\n{}",
        as_nobody.code,
        as_nobody.output
    );
    report.check("inventree-manage run by nobody refuses, saying to run it as root");
    d.shutdown().await?;
    Ok(report)
}

/// `inventree-manage shell` runs as the service user, may not write `/etc`, and its failure's
/// exit status reaches the caller.
async fn manage_shell_runs_in_the_service_sandbox(
    d: &Deployment,
    plan: &HostPlan,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    let whoami = "import os, pwd; print('runs as', pwd.getpwuid(os.getuid()).pw_name)";
    let out = d
        .container
        .exec_ok(&["inventree-manage", "shell", "-c", whoami], ADMIN_TIMEOUT)
        .await?;
    anyhow::ensure!(
        out.contains(&format!("runs as {}", service_user(plan))),
        "inventree-manage shell did not run as the service user {}:\n{out}",
        service_user(plan)
    );
    let write_etc = "open('/etc/inventree-harness-was-here', 'w')";
    let denied = d
        .container
        .exec(
            &["inventree-manage", "shell", "-c", write_etc],
            ADMIN_TIMEOUT,
        )
        .await?;
    anyhow::ensure!(
        !denied.success && denied.output.contains("Read-only file system"),
        "inventree-manage shell could write to /etc (exit {:?}): the service's sandbox is missing\n{}",
        denied.code,
        denied.output
    );
    report.check(format!(
        "inventree-manage shell runs as {} under the service's sandbox: writing /etc fails (Read-only file system) and its exit status {:?} reaches the caller",
        service_user(plan),
        denied.code
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_line_reads_the_value_after_its_label() {
        let output = "Installation paths:\nConfig      /var/lib/inventree/config.yaml\nMedia       /var/lib/inventree/media\n";
        assert_eq!(
            version_line(output, "Config"),
            Some("/var/lib/inventree/config.yaml")
        );
        assert_eq!(
            version_line(output, "Media"),
            Some("/var/lib/inventree/media")
        );
        assert_eq!(version_line(output, "Backup"), None);
    }
}
