//! A bounded load run: a fixed number of requests, a fixed number at once, a time limit, on
//! loopback; every request's latency kept, every failure counted. Measured the same way for
//! every setup it is pointed at (one web node, two behind nginx).

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

/// How much load.
#[derive(Debug, Clone, Copy)]
pub struct LoadSpec {
    pub requests: usize,
    pub concurrency: usize,
    /// The run stops starting requests after this long (what was not sent counts as an error).
    pub limit: Duration,
}

/// What a run measured.
#[derive(Debug, Clone, Default)]
pub struct LoadResult {
    pub sent: usize,
    pub errors: usize,
    /// The first failure, for the report.
    pub first_error: Option<String>,
    pub elapsed: Duration,
    pub latencies: Vec<Duration>,
}

impl LoadResult {
    pub fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// The `p`th percentile (0–100) of the successful requests' latencies (nearest rank).
    pub fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        if sorted.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }
}

/// Makes request number `i` (a write needs a unique name).
pub type MakeRequest =
    Arc<dyn Fn(&reqwest::Client, usize) -> reqwest::RequestBuilder + Send + Sync>;

/// Runs `spec.requests` requests, `spec.concurrency` at once; a request fails on a transport
/// error or a status that is not a success.
pub async fn run(client: &reqwest::Client, make: MakeRequest, spec: LoadSpec) -> LoadResult {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..spec.concurrency.max(1) {
        let (client, make, next) = (client.clone(), make.clone(), next.clone());
        workers.spawn(async move {
            let mut own = LoadResult::default();
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= spec.requests || started.elapsed() > spec.limit {
                    break;
                }
                own.sent += 1;
                let asked = Instant::now();
                let outcome = match make(&client, i).send().await {
                    Ok(response) if response.status().is_success() => response
                        .bytes()
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string()),
                    Ok(response) => Err(format!("HTTP {}", response.status())),
                    Err(e) => Err(e.to_string()),
                };
                match outcome {
                    Ok(()) => own.latencies.push(asked.elapsed()),
                    Err(e) => {
                        own.errors += 1;
                        own.first_error.get_or_insert(e);
                    }
                }
            }
            own
        });
    }
    let mut all = LoadResult::default();
    while let Some(joined) = workers.join_next().await {
        match joined {
            Ok(own) => {
                all.sent += own.sent;
                all.errors += own.errors;
                all.latencies.extend(own.latencies);
                if all.first_error.is_none() {
                    all.first_error = own.first_error;
                }
            }
            Err(e) => {
                all.errors += 1;
                all.first_error.get_or_insert(e.to_string());
            }
        }
    }
    all.elapsed = started.elapsed();
    // Requests never sent within the limit count as failures.
    all.errors += spec.requests.saturating_sub(all.sent);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(ms: &[u64]) -> LoadResult {
        LoadResult {
            latencies: ms.iter().map(|m| Duration::from_millis(*m)).collect(),
            elapsed: Duration::from_secs(2),
            ..Default::default()
        }
    }

    #[rstest::rstest]
    #[case(50.0, 50)]
    #[case(95.0, 95)]
    #[case(100.0, 100)]
    #[case(1.0, 1)]
    fn percentiles_are_nearest_rank_of_the_successful_requests(#[case] p: f64, #[case] ms: u64) {
        let all: Vec<u64> = (1..=100).rev().collect();
        assert_eq!(result(&all).percentile(p), Duration::from_millis(ms));
    }

    #[test]
    fn requests_per_second_count_only_successes() {
        assert_eq!(result(&[1, 2, 3, 4]).per_second(), 2.0);
        assert_eq!(result(&[]).percentile(95.0), Duration::ZERO);
    }

    #[tokio::test]
    async fn every_request_is_sent_once_and_failures_are_counted_with_the_first_named() {
        let server = wiremock::MockServer::start().await;
        wiremock::Mock::given(wiremock::matchers::path("/ok"))
            .respond_with(wiremock::ResponseTemplate::new(200))
            .mount(&server)
            .await;
        let base = server.uri();
        let make: MakeRequest = Arc::new(move |client, i| {
            let path = if i % 4 == 3 { "missing" } else { "ok" };
            client.get(format!("{base}/{path}"))
        });
        let spec = LoadSpec {
            requests: 40,
            concurrency: 3,
            limit: Duration::from_secs(30),
        };
        let result = run(&reqwest::Client::new(), make, spec).await;
        assert_eq!(result.sent, 40);
        assert_eq!((result.latencies.len(), result.errors), (30, 10));
        assert_eq!(result.first_error.as_deref(), Some("HTTP 404 Not Found"));
        assert_eq!(
            server.received_requests().await.unwrap_or_default().len(),
            40
        );
    }
}
