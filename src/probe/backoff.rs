//! Bounded exponential backoff under a deadline.
//!
//! Hand-rolled rather than a crate (`backoff`, `tokio-retry`): the probe needs exactly one
//! policy — double the delay up to a cap, never sleep past the deadline, and tell the caller when
//! time is up so it can report what it saw last — which is a dozen lines, while the crates'
//! retry-a-closure shape hides that last observation.

use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Clone)]
pub struct Backoff {
    started: Instant,
    deadline: Instant,
    delay: Duration,
    max_delay: Duration,
}

impl Backoff {
    pub fn new(budget: Duration, first_delay: Duration, max_delay: Duration) -> Self {
        let started = Instant::now();
        Backoff {
            started,
            deadline: started + budget,
            delay: first_delay,
            max_delay,
        }
    }

    /// Time since the backoff started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    pub fn expired(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// The next delay: doubled each call, capped, and never beyond the deadline.
    pub fn next_delay(&mut self) -> Option<Duration> {
        let now = Instant::now();
        if now >= self.deadline {
            return None;
        }
        let delay = self.delay.min(self.deadline - now);
        self.delay = (self.delay * 2).min(self.max_delay);
        Some(delay)
    }

    /// Sleep for the next delay; false when the deadline has passed.
    pub async fn wait(&mut self) -> bool {
        match self.next_delay() {
            Some(delay) => {
                tokio::time::sleep(delay).await;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn delays_double_up_to_the_cap() {
        let mut backoff = Backoff::new(
            Duration::from_secs(60),
            Duration::from_millis(100),
            Duration::from_millis(500),
        );
        let delays: Vec<_> = (0..5).map(|_| backoff.next_delay().unwrap()).collect();
        assert_eq!(
            delays,
            [100, 200, 400, 500, 500]
                .map(Duration::from_millis)
                .to_vec()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn never_sleeps_past_the_deadline_and_then_stops() {
        let mut backoff = Backoff::new(
            Duration::from_millis(300),
            Duration::from_millis(200),
            Duration::from_secs(1),
        );
        assert!(backoff.wait().await); // 200 ms
        assert_eq!(backoff.next_delay(), Some(Duration::from_millis(100)));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(backoff.expired());
        assert!(!backoff.wait().await);
    }
}
