//! Long runs (VM tests, bumps) stop cleanly on Ctrl-C or SIGTERM (a cancelled CI job): the run's
//! future is dropped, and dropping a running nix command kills its whole process group — which a
//! signal to the harness alone would not reach, since nix runs in a group of its own.

use std::future::Future;

/// Exit status after an interruption (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;

/// `Some(output)` when `work` finished, `None` when SIGINT or SIGTERM came first.
pub async fn until_interrupted<F: Future>(work: F) -> Option<F::Output> {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            // Without a SIGTERM handler, only Ctrl-C interrupts.
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        output = work => Some(output),
        _ = tokio::signal::ctrl_c() => None,
        _ = terminate => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn finished_work_is_returned() {
        assert_eq!(until_interrupted(async { 7 }).await, Some(7));
    }
}
