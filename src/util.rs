//! Small text, time and network helpers every part of the harness uses: one definition each, so
//! a report's "last lines" or a timestamp look the same wherever they are made.

use std::{
    net::TcpListener,
    path::Path,
    time::{SystemTime, UNIX_EPOCH},
};

use anyhow::Context as _;

/// The last `lines` lines of `text` (trailing blank lines ignored), for error messages and
/// reports.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The last `lines` lines of the file at `path`, or why it could not be read.
pub fn tail_of_file(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => tail(&String::from_utf8_lossy(&bytes), lines),
        Err(e) => format!("({} unreadable: {e})", path.display()),
    }
}

/// `text` cut to at most `max` characters, the cut marked with `…`.
pub fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// A loopback TCP port free right now.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free loopback port")?;
    Ok(listener
        .local_addr()
        .context("reading the free port's address")?
        .port())
}

/// Whether something accepts connections on loopback `port` within `budget` (polled every
/// 100 ms): for servers the harness starts, which open their port a moment after they run.
pub async fn accepts_within(port: u16, budget: std::time::Duration) -> bool {
    let started = std::time::Instant::now();
    loop {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return true;
        }
        if started.elapsed() >= budget {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The TCP sockets on local `port` (any address, any state), as `LISTEN held by pid N (command
/// line)`: what an "address in use" error should name. Empty when there are none or /proc is
/// unreadable; a socket whose owner is not visible here (an orphan the kernel is closing) is
/// named by its inode.
pub fn sockets_on(port: u16) -> Vec<String> {
    let wanted = format!(":{port:04X}");
    let mut sockets = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        // Columns: sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode.
        for fields in text
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
        {
            if fields.len() > 9 && fields[1].ends_with(&wanted) {
                sockets.push((tcp_state(fields[3]), fields[9].to_string()));
            }
        }
    }
    sockets
        .iter()
        .map(|(state, inode)| {
            let owner = match inode.as_str() {
                // Orphaned and TIME_WAIT sockets belong to no descriptor.
                "0" => "no process".to_string(),
                _ => socket_owner(inode).unwrap_or_else(|| format!("socket inode {inode}")),
            };
            format!("{state} held by {owner}")
        })
        .collect()
}

/// The name of a TCP state as /proc/net/tcp writes it (include/net/tcp_states.h).
fn tcp_state(hex: &str) -> &'static str {
    match hex {
        "01" => "ESTABLISHED",
        "02" => "SYN_SENT",
        "03" => "SYN_RECV",
        "04" => "FIN_WAIT1",
        "05" => "FIN_WAIT2",
        "06" => "TIME_WAIT",
        "07" => "CLOSE",
        "08" => "CLOSE_WAIT",
        "09" => "LAST_ACK",
        "0A" => "LISTEN",
        "0B" => "CLOSING",
        _ => "UNKNOWN",
    }
}

/// `pid N (command line)` of a process holding the socket `inode` open.
fn socket_owner(inode: &str) -> Option<String> {
    let link = format!("socket:[{inode}]");
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let holds = std::fs::read_dir(entry.path().join("fd"))
                .ok()?
                .flatten()
                .any(|fd| {
                    std::fs::read_link(fd.path()).is_ok_and(|t| t.as_os_str() == link.as_str())
                });
            holds.then(|| {
                let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
                let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                format!("pid {pid} ({})", truncate(cmdline.trim(), 160))
            })
        })
}

/// Copies the file `from` to `to` on a blocking-pool thread (a database template is large
/// enough to stall an async worker); errors name both paths.
pub async fn copy_file(from: &Path, to: &Path) -> anyhow::Result<u64> {
    let (source, target) = (from.to_path_buf(), to.to_path_buf());
    tokio::task::spawn_blocking(move || std::fs::copy(&source, &target))
        .await
        .context("the copying thread failed")?
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339, UTC) for seconds since the Unix epoch.
pub fn utc_timestamp(unix_seconds: u64) -> String {
    let formatted = i64::try_from(unix_seconds)
        .ok()
        .and_then(|secs| time::OffsetDateTime::from_unix_timestamp(secs).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        });
    // Only a date past year 9999 has no RFC 3339 form.
    formatted.unwrap_or_else(|| format!("@{unix_seconds}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[test]
    fn sockets_on_names_the_process_listening_on_a_port() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let holders = sockets_on(port);
        assert_eq!(holders.len(), 1, "{holders:?}");
        assert!(
            holders[0].starts_with(&format!("LISTEN held by pid {} (", std::process::id())),
            "{holders:?}"
        );
        drop(listener);
        assert_eq!(sockets_on(port), Vec::<String>::new());
    }

    #[test]
    fn sockets_on_names_a_connection_on_the_port_with_its_state() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let _client = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let (_accepted, _) = listener.accept().expect("accept");
        let sockets = sockets_on(port);
        assert_eq!(sockets.len(), 2, "{sockets:?}");
        assert!(
            sockets
                .iter()
                .any(|s| s.starts_with("ESTABLISHED held by pid ")),
            "{sockets:?}"
        );
    }

    #[rstest]
    #[case("a\nb\nc\n", 2, "b\nc")]
    #[case("a\nb\n\n\n", 1, "b")]
    #[case("a", 5, "a")]
    #[case("", 3, "")]
    fn tail_keeps_the_last_lines(#[case] text: &str, #[case] lines: usize, #[case] kept: &str) {
        assert_eq!(tail(text, lines), kept);
    }

    #[test]
    fn tail_of_a_missing_file_says_it_is_unreadable() {
        let said = tail_of_file(Path::new("/nonexistent/log"), 3);
        assert!(said.starts_with("(/nonexistent/log unreadable:"), "{said}");
    }

    #[rstest]
    #[case("abc", 5, "abc")]
    #[case("abc", 3, "abc")]
    #[case("abcdef", 3, "abc…")]
    #[case("äöüß", 2, "äö…")]
    fn truncate_marks_cut_text(#[case] text: &str, #[case] max: usize, #[case] cut: &str) {
        assert_eq!(truncate(text, max), cut);
    }

    #[tokio::test]
    async fn copy_file_copies_and_names_both_paths_when_it_cannot() {
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&from, "data").unwrap();
        assert_eq!(copy_file(&from, &to).await.unwrap(), 4);
        assert_eq!(std::fs::read_to_string(&to).unwrap(), "data");
        let missing = dir.path().join("missing");
        let err = format!("{:#}", copy_file(&missing, &to).await.unwrap_err());
        assert!(
            err.starts_with(&format!(
                "copying {} to {}",
                missing.display(),
                to.display()
            )),
            "{err}"
        );
    }

    #[test]
    fn a_free_port_can_be_bound() {
        let port = free_port().unwrap();
        TcpListener::bind(("127.0.0.1", port)).unwrap();
    }

    #[rstest]
    #[case(0, "1970-01-01T00:00:00Z")]
    #[case(951_782_400, "2000-02-29T00:00:00Z")]
    #[case(1_795_651_200 + 3_723, "2026-11-26T01:02:03Z")]
    fn utc_timestamps_are_rfc3339(#[case] secs: u64, #[case] formatted: &str) {
        assert_eq!(utc_timestamp(secs), formatted);
    }
}
