//! Bad input refused before anything is touched: the data directory is left as it was.

use super::*;

/// bad input: a missing or unreadable password file stops setup with a message naming the file,
/// before anything is written.
pub async fn bad_input(host: &HostEnv, plan: &HostPlan) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("bad input");
    let credential = plan
        .internal
        .credentials
        .keys()
        .next()
        .cloned()
        .context("the fixture has no credential to break")?;
    for breakage in ["missing", "unreadable (a directory)"] {
        let instance = Instance::create(host, plan)?;
        let file = instance.layout.credential_path(&credential);
        std::fs::remove_file(&file)?;
        if breakage.starts_with("unreadable") {
            // As root, mode 000 does not stop reading; a directory in its place does.
            std::fs::create_dir(&file)?;
        }
        let before = tree(&instance.layout.data_dir);
        let done = instance.setup().await?;
        anyhow::ensure!(
            !done.success,
            "setup succeeded with a {breakage} password file:\n{}",
            done.output
        );
        anyhow::ensure!(
            done.output.contains(&file.display().to_string()),
            "setup's message does not name {}:\n{}",
            file.display(),
            done.output
        );
        let after = tree(&instance.layout.data_dir);
        anyhow::ensure!(
            before == after,
            "setup wrote {:?} before failing",
            after.difference(&before).collect::<Vec<_>>()
        );
        let message = done
            .output
            .lines()
            .filter(|l| l.contains("error") || l.contains(&credential))
            .collect::<Vec<_>>()
            .join(" / ");
        report.check(format!(
            "{breakage} password file: setup failed naming it, data dir untouched — {message}"
        ));
    }
    Ok(report)
}

fn tree(dir: &Path) -> std::collections::BTreeSet<PathBuf> {
    fn walk(dir: &Path, out: &mut std::collections::BTreeSet<PathBuf>) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                out.insert(path.clone());
                if path.is_dir() {
                    walk(&path, out);
                }
            }
        }
    }
    let mut out = std::collections::BTreeSet::new();
    walk(dir, &mut out);
    out
}
