//! Which Chromium and chromedriver to use, and how to start Chromium: the command-line flags and
//! the WebDriver capabilities (pure, unit-tested).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

/// Environment variable naming the Chromium binary (else `chromium` & co. on `PATH`).
pub const ENV_CHROMIUM: &str = "INVENTREE_HARNESS_CHROMIUM";
/// Environment variable naming the chromedriver binary (else `chromedriver` on `PATH`).
pub const ENV_CHROMEDRIVER: &str = "INVENTREE_HARNESS_CHROMEDRIVER";

/// Names a Chromium is installed under: Debian (`chromium`), NixOS (`chromium`), Ubuntu's old
/// deb (`chromium-browser`), Google's builds.
const CHROMIUM_NAMES: &[&str] = &[
    "chromium",
    "chromium-browser",
    "google-chrome-stable",
    "google-chrome",
];

/// The two programs the check drives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserTools {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

/// Find Chromium and chromedriver: an explicit path (flag or environment variable) wins, else
/// the usual names on `PATH`. The error says what is missing and how to provide it, so tests can
/// skip with it as the reason.
pub fn locate_tools(
    chromium: Option<&Path>,
    chromedriver: Option<&Path>,
) -> anyhow::Result<BrowserTools> {
    let chromium = match chromium {
        Some(p) => existing(p, "Chromium")?,
        None => env_path(ENV_CHROMIUM, "Chromium")?
            .or_else(|| CHROMIUM_NAMES.iter().find_map(|n| which::which(n).ok()))
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "no Chromium found (looked for {} on PATH; set {ENV_CHROMIUM} or --chromium; \
                     Debian: apt-get install chromium chromium-driver)",
                    CHROMIUM_NAMES.join(", ")
                )
            })?,
    };
    let chromedriver = match chromedriver {
        Some(p) => existing(p, "chromedriver")?,
        None => env_path(ENV_CHROMEDRIVER, "chromedriver")?
            .or_else(|| which::which("chromedriver").ok())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "no chromedriver found on PATH (set {ENV_CHROMEDRIVER} or --chromedriver; \
                     Debian: apt-get install chromium-driver)"
                )
            })?,
    };
    Ok(BrowserTools {
        chromium,
        chromedriver,
    })
}

fn env_path(var: &str, what: &str) -> anyhow::Result<Option<PathBuf>> {
    match std::env::var_os(var) {
        Some(v) if !v.is_empty() => existing(Path::new(&v), what)
            .map(Some)
            .map_err(|e| anyhow::anyhow!("{e} (from {var})")),
        _ => Ok(None),
    }
}

fn existing(p: &Path, what: &str) -> anyhow::Result<PathBuf> {
    if p.is_file() {
        Ok(p.to_path_buf())
    } else if let Ok(found) = which::which(p) {
        Ok(found)
    } else {
        anyhow::bail!("{what} {} does not exist", p.display())
    }
}

/// Viewport of the screenshots.
pub const WINDOW_SIZE: (u32, u32) = (1366, 900);

/// Chromium's flags: headless, no sandbox (containers, root, VMs), nothing that talks to the
/// network on its own (the machines reach only package registries; a VM reaches nothing), a
/// fresh profile, and English so titles and labels are predictable.
pub fn chromium_args(user_data_dir: &Path) -> Vec<String> {
    let mut args: Vec<String> = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-breakpad",
        "--disable-crash-reporter",
        "--disable-features=Translate,MediaRouter,OptimizationHints",
        "--no-proxy-server",
        "--lang=en-US",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(format!("--window-size={},{}", WINDOW_SIZE.0, WINDOW_SIZE.1));
    args.push(format!("--user-data-dir={}", user_data_dir.display()));
    args
}

/// The W3C capabilities for a new session: Chromium at `binary` with [`chromium_args`], page
/// loads bounded by `page_load`, and the browser console kept so a failure can show it.
pub fn capabilities(binary: &Path, user_data_dir: &Path, page_load: Duration) -> Value {
    json!({
        "alwaysMatch": {
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "timeouts": {
                "pageLoad": page_load.as_millis() as u64,
                "script": 10_000,
                "implicit": 0
            },
            "goog:chromeOptions": {
                "binary": binary.display().to_string(),
                "args": chromium_args(user_data_dir),
                "prefs": { "intl.accept_languages": "en-US,en" }
            },
            "goog:loggingPrefs": { "browser": "ALL" }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_headless_offline_and_use_the_given_profile() {
        let args = chromium_args(Path::new("/tmp/profile"));
        for flag in [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--user-data-dir=/tmp/profile",
            "--window-size=1366,900",
        ] {
            assert!(args.iter().any(|a| a == flag), "missing {flag} in {args:?}");
        }
    }

    #[test]
    fn capabilities_name_the_binary_and_bound_page_loads() {
        let caps = capabilities(
            Path::new("/usr/bin/chromium"),
            Path::new("/tmp/p"),
            Duration::from_secs(30),
        );
        let m = &caps["alwaysMatch"];
        assert_eq!(m["goog:chromeOptions"]["binary"], "/usr/bin/chromium");
        assert_eq!(m["timeouts"]["pageLoad"], 30_000);
        assert_eq!(m["timeouts"]["implicit"], 0);
        assert_eq!(m["goog:loggingPrefs"]["browser"], "ALL");
    }

    #[test]
    fn an_explicit_path_that_does_not_exist_is_named() {
        let err = locate_tools(Some(Path::new("/nonexistent/chromium")), None).unwrap_err();
        let err = err.to_string();
        assert!(err.contains("/nonexistent/chromium"), "{err}");
    }
}
