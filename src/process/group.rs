//! Process groups: signalling one, and seeing from /proc which of its processes are still alive.

use std::time::{Duration, Instant};

use nix::{
    sys::signal::{killpg, Signal},
    unistd::Pid,
};

/// Sends `signal` to every process of the group; a group already gone is not an error.
pub fn signal_group(pgid: Pid, signal: Signal) {
    // ESRCH (nothing left) is the normal case after a clean exit.
    let _ = killpg(pgid, signal);
}

/// Is any process of the group still there? Zombies count as gone.
pub fn group_alive(pgid: Pid) -> bool {
    !group_members(pgid).is_empty()
}

/// Waits (at most `limit`) until no live process is left in the group; the survivors if some are.
pub async fn wait_group_gone(pgid: Pid, limit: Duration) -> Result<(), Vec<i32>> {
    let deadline = Instant::now() + limit;
    loop {
        let members = group_members(pgid);
        if members.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(members);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Live (non-zombie) processes in the group, from /proc.
pub fn group_members(pgid: Pid) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        // No /proc: fall back to the signal-0 probe (zombies count as alive here).
        return match killpg(pgid, None) {
            Ok(()) => vec![pgid.as_raw()],
            Err(_) => vec![],
        };
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| live_member(pid, pgid))
        .collect()
}

fn live_member(pid: i32, pgid: Pid) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // Fields after the command (which may hold spaces) start after the last ')'.
    let Some((_, after)) = stat.rsplit_once(')') else {
        return false;
    };
    let fields: Vec<&str> = after.split_whitespace().collect();
    // state = fields[0], ppid = fields[1], pgrp = fields[2]
    fields.len() > 2 && fields[0] != "Z" && fields[2] == pgid.as_raw().to_string()
}

/// Is the process alive (present and not a zombie)?
pub fn process_alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let (_, after) = stat.rsplit_once(')')?;
            Some(after.split_whitespace().next()? != "Z")
        })
        .unwrap_or(false)
}
