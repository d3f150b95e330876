//! The resilience policies every partner call goes through: retries with exponential backoff and
//! full jitter (only for retriable classes, honouring the platform's `Retry-After` or
//! `X-RateLimit-Reset`), a token-bucket rate limit, a circuit breaker and a bulkhead. Each
//! partner gets its own [`Resilience`] so one slow or failing platform never starves another.
//!
//! Waiting goes through a [`Sleeper`], so tests can record backoff delays instead of sleeping.
//! The rate limiter and the circuit breaker read `tokio::time::Instant`, so tests can also run
//! them under tokio's paused clock.
//!
//! Circuit breaker rules: only failures that say "the platform is in trouble" count
//! (`unreachable`, `timed_out`, `platform_error`); a refused credential, a 404 or a 429 says
//! nothing about the platform's health and leaves the breaker as it is. The breaker guards data
//! operations; health probes bypass it (the poller must see the real state to notice recovery).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use ecosystem_core::integration::{ErrorClass, IntegrationError, IntegrationResult};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Something that waits. Production code uses [`TokioSleeper`]; tests record the delays.
#[async_trait]
pub trait Sleeper: Send + Sync + std::fmt::Debug {
    async fn sleep(&self, duration: Duration);
}

/// Waits with `tokio::time::sleep` (so it also obeys tokio's paused clock).
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

#[async_trait]
impl Sleeper for TokioSleeper {
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// How a failed call is retried.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in total, the first one included (1 = never retry).
    pub max_attempts: u32,
    /// The backoff ceiling of the first retry; it doubles for each later one.
    pub base_delay: Duration,
    /// No single wait is longer than this (a longer `Retry-After` ends the retries).
    pub max_delay: Duration,
    /// No retry starts when this much time has passed since the first attempt.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(20),
            max_elapsed: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retry.
    pub fn never() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The wait before retry number `retry` (1-based), as "full jitter": uniformly random
    /// between zero and `min(max_delay, base_delay * 2^(retry-1))`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = retry.saturating_sub(1).min(20);
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << exp)
            .min(self.max_delay);
        let ceiling_ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(fastrand::u64(0..=ceiling_ms))
    }

    /// What to wait before the next attempt after `error`, or `None` to give up.
    /// `attempt` is the number of attempts made so far; `elapsed` the time since the first.
    pub fn next_delay(
        &self,
        error: &IntegrationError,
        attempt: u32,
        elapsed: Duration,
    ) -> Option<Duration> {
        if !error.class.is_retriable() || attempt >= self.max_attempts {
            return None;
        }
        let delay = match error.retry_after {
            Some(asked) if asked > self.max_delay => return None,
            Some(asked) => asked,
            None => self.backoff(attempt),
        };
        if elapsed + delay > self.max_elapsed {
            return None;
        }
        Some(delay)
    }
}

/// A token bucket: `burst` calls at once, then `per_second` on average.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    /// `per_second` must be positive; `burst` is at least one call.
    pub fn new(per_second: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        RateLimiter {
            per_second: if per_second > 0.0 { per_second } else { 1.0 },
            burst,
            state: Mutex::new(Bucket {
                tokens: burst,
                updated: Instant::now(),
            }),
        }
    }

    /// Takes a token, waiting until one is available.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut bucket = lock(&self.state);
                let now = Instant::now();
                let refill = now.duration_since(bucket.updated).as_secs_f64() * self.per_second;
                bucket.tokens = (bucket.tokens + refill).min(self.burst);
                bucket.updated = now;
                if bucket.tokens >= 1.0 {
                    bucket.tokens -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - bucket.tokens) / self.per_second)
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// The circuit breaker's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakerPolicy {
    /// Consecutive failures that open the circuit.
    pub failure_threshold: u32,
    /// How long the circuit stays open before one trial call is let through.
    pub cool_down: Duration,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        BreakerPolicy {
            failure_threshold: 5,
            cool_down: Duration::from_secs(30),
        }
    }
}

/// Where a circuit breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    /// Failing fast until the cool-down ends.
    Open,
    /// One trial call is in flight; its outcome closes or re-opens the circuit.
    HalfOpen,
}

#[derive(Debug)]
struct BreakerInner {
    state: BreakerState,
    failures: u32,
    opened_at: Option<Instant>,
}

/// Closed → open after `failure_threshold` consecutive failures → half-open after the
/// cool-down (one trial call) → closed on success, open again on failure.
#[derive(Debug)]
pub struct CircuitBreaker {
    policy: BreakerPolicy,
    inner: Mutex<BreakerInner>,
}

impl CircuitBreaker {
    pub fn new(policy: BreakerPolicy) -> Self {
        CircuitBreaker {
            policy,
            inner: Mutex::new(BreakerInner {
                state: BreakerState::Closed,
                failures: 0,
                opened_at: None,
            }),
        }
    }

    pub fn state(&self) -> BreakerState {
        let mut inner = lock(&self.inner);
        self.refresh(&mut inner);
        inner.state
    }

    fn refresh(&self, inner: &mut BreakerInner) {
        if inner.state == BreakerState::Open {
            if let Some(at) = inner.opened_at {
                if at.elapsed() >= self.policy.cool_down {
                    inner.state = BreakerState::HalfOpen;
                    inner.opened_at = None;
                }
            }
        }
    }

    /// Asks to make a call: `Ok` lets it through, `Err(circuit_open)` fails it fast.
    /// In half-open state only the first caller gets through.
    pub fn admit(&self, operation: &str) -> IntegrationResult<BreakerTicket<'_>> {
        let mut inner = lock(&self.inner);
        self.refresh(&mut inner);
        match inner.state {
            BreakerState::Closed => Ok(BreakerTicket {
                breaker: self,
                trial: false,
                settled: false,
            }),
            BreakerState::HalfOpen if inner.opened_at.is_none() => {
                // Mark the trial as taken: later callers see an "open" half-open circuit.
                inner.opened_at = Some(Instant::now());
                Ok(BreakerTicket {
                    breaker: self,
                    trial: true,
                    settled: false,
                })
            }
            _ => Err(IntegrationError::new(
                ErrorClass::CircuitOpen,
                format!(
                    "{operation}: not attempted, the circuit is open after {} consecutive failures",
                    inner.failures
                ),
            )),
        }
    }

    fn settle(&self, trial: bool, outcome: Option<ErrorClass>) {
        let mut inner = lock(&self.inner);
        match outcome {
            Some(class) if counts_as_failure(class) => {
                inner.failures = inner.failures.saturating_add(1);
                if trial || inner.failures >= self.policy.failure_threshold {
                    if inner.state != BreakerState::Open {
                        tracing::warn!(failures = inner.failures, "circuit opened");
                    }
                    inner.state = BreakerState::Open;
                    inner.opened_at = Some(Instant::now());
                }
            }
            Some(_) if trial => {
                // The platform answered (with a 4xx): it is up. Close.
                inner.state = BreakerState::Closed;
                inner.failures = 0;
                inner.opened_at = None;
            }
            Some(_) => {}
            None => {
                if inner.state != BreakerState::Closed {
                    tracing::info!("circuit closed");
                }
                inner.state = BreakerState::Closed;
                inner.failures = 0;
                inner.opened_at = None;
            }
        }
    }
}

/// Failures that say the platform is in trouble.
fn counts_as_failure(class: ErrorClass) -> bool {
    matches!(
        class,
        ErrorClass::Unreachable | ErrorClass::TimedOut | ErrorClass::PlatformError
    )
}

/// Permission for one call; report its outcome with [`BreakerTicket::record`]. A ticket
/// dropped without a record (the call was cancelled) counts as a success-free no-op, but frees
/// the half-open trial slot.
#[derive(Debug)]
pub struct BreakerTicket<'a> {
    breaker: &'a CircuitBreaker,
    trial: bool,
    settled: bool,
}

impl BreakerTicket<'_> {
    pub fn record<T>(mut self, result: &IntegrationResult<T>) {
        self.settled = true;
        self.breaker
            .settle(self.trial, result.as_ref().err().map(|e| e.class));
    }
}

impl Drop for BreakerTicket<'_> {
    fn drop(&mut self) {
        if self.trial && !self.settled {
            let mut inner = lock(&self.breaker.inner);
            if inner.state == BreakerState::HalfOpen {
                inner.opened_at = None;
            }
        }
    }
}

/// At most `max_in_flight` calls to one partner at a time; the others wait their turn.
#[derive(Debug, Clone)]
pub struct Bulkhead {
    permits: Arc<Semaphore>,
    max_in_flight: usize,
}

impl Bulkhead {
    pub fn new(max_in_flight: usize) -> Self {
        let max_in_flight = max_in_flight.max(1);
        Bulkhead {
            permits: Arc::new(Semaphore::new(max_in_flight)),
            max_in_flight,
        }
    }

    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }

    /// Waits for a slot; the call holds it until the permit is dropped.
    pub async fn enter(&self, operation: &str) -> IntegrationResult<OwnedSemaphorePermit> {
        Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| {
                IntegrationError::new(
                    ErrorClass::CircuitOpen,
                    format!("{operation}: the connector is shutting down"),
                )
            })
    }
}

/// All the resilience settings of one partner.
#[derive(Debug, Clone, PartialEq)]
pub struct ResiliencePolicy {
    /// Each attempt (connect, send, read the whole body) must finish within this.
    pub timeout: Duration,
    /// Bodies larger than this are refused as `unexpected_response`.
    pub max_body_bytes: usize,
    pub retry: RetryPolicy,
    pub breaker: BreakerPolicy,
    /// Calls per second on average (`None`: no limit) and the burst allowed.
    pub rate_per_second: Option<f64>,
    pub rate_burst: u32,
    pub max_in_flight: usize,
}

impl Default for ResiliencePolicy {
    fn default() -> Self {
        ResiliencePolicy {
            timeout: Duration::from_secs(30),
            max_body_bytes: 16 * 1024 * 1024,
            retry: RetryPolicy::default(),
            breaker: BreakerPolicy::default(),
            rate_per_second: Some(20.0),
            rate_burst: 10,
            max_in_flight: 8,
        }
    }
}

/// The live resilience state of one partner: its limiter, breaker and bulkhead.
#[derive(Debug)]
pub struct Resilience {
    pub policy: ResiliencePolicy,
    pub limiter: Option<RateLimiter>,
    pub breaker: CircuitBreaker,
    pub bulkhead: Bulkhead,
    pub sleeper: Arc<dyn Sleeper>,
}

impl Resilience {
    pub fn new(policy: ResiliencePolicy) -> Self {
        Resilience::with_sleeper(policy, Arc::new(TokioSleeper))
    }

    pub fn with_sleeper(policy: ResiliencePolicy, sleeper: Arc<dyn Sleeper>) -> Self {
        Resilience {
            limiter: policy
                .rate_per_second
                .map(|rate| RateLimiter::new(rate, policy.rate_burst)),
            breaker: CircuitBreaker::new(policy.breaker.clone()),
            bulkhead: Bulkhead::new(policy.max_in_flight),
            policy,
            sleeper,
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding these short critical sections cannot leave them inconsistent.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(class: ErrorClass) -> IntegrationError {
        IntegrationError::new(class, "test")
    }

    #[test]
    fn backoff_is_full_jitter_under_a_doubling_ceiling() {
        let policy = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            ..RetryPolicy::default()
        };
        for _ in 0..200 {
            assert!(
                policy.backoff(1) <= Duration::from_millis(100),
                "retry 1 over 100 ms"
            );
            assert!(
                policy.backoff(3) <= Duration::from_millis(400),
                "retry 3 over 400 ms"
            );
            assert!(
                policy.backoff(30) <= Duration::from_millis(1000),
                "retry 30 over the cap"
            );
        }
        let spread: std::collections::HashSet<_> = (0..50).map(|_| policy.backoff(4)).collect();
        assert!(
            spread.len() > 10,
            "jitter should spread the delays: {spread:?}"
        );
    }

    #[test]
    fn only_retriable_classes_are_retried_within_the_attempt_budget() {
        let policy = RetryPolicy::default();
        for class in [
            ErrorClass::CredentialsRejected,
            ErrorClass::NotFound,
            ErrorClass::InvalidRequest,
            ErrorClass::UnexpectedResponse,
            ErrorClass::CircuitOpen,
            ErrorClass::MissingCredential,
        ] {
            assert_eq!(
                policy.next_delay(&error(class), 1, Duration::ZERO),
                None,
                "{class} must not be retried"
            );
        }
        for class in [
            ErrorClass::RateLimited,
            ErrorClass::TimedOut,
            ErrorClass::Unreachable,
            ErrorClass::PlatformError,
        ] {
            assert!(
                policy
                    .next_delay(&error(class), 1, Duration::ZERO)
                    .is_some(),
                "{class} should be retried"
            );
            assert_eq!(
                policy.next_delay(&error(class), policy.max_attempts, Duration::ZERO),
                None,
                "{class}: attempts are bounded"
            );
        }
    }

    #[test]
    fn retry_after_is_honoured_but_never_beyond_the_caps() {
        let policy = RetryPolicy::default();
        let mut e = error(ErrorClass::RateLimited);
        e.retry_after = Some(Duration::from_secs(3));
        assert_eq!(
            policy.next_delay(&e, 1, Duration::ZERO),
            Some(Duration::from_secs(3)),
            "the asked delay is used"
        );
        assert_eq!(
            policy.next_delay(&e, 1, Duration::from_secs(59)),
            None,
            "the total-time budget ends retries"
        );
        e.retry_after = Some(Duration::from_secs(3600));
        assert_eq!(
            policy.next_delay(&e, 1, Duration::ZERO),
            None,
            "a wait longer than max_delay ends retries"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn breaker_opens_after_n_failures_then_half_opens_after_the_cool_down() {
        let breaker = CircuitBreaker::new(BreakerPolicy {
            failure_threshold: 3,
            cool_down: Duration::from_secs(10),
        });
        let failed: IntegrationResult<()> = Err(error(ErrorClass::PlatformError));
        for _ in 0..3 {
            breaker.admit("op").map(|t| t.record(&failed)).ok();
        }
        assert_eq!(
            breaker.state(),
            BreakerState::Open,
            "three failures open the circuit"
        );
        let refused = breaker.admit("op").err().map(|e| e.class);
        assert_eq!(
            refused,
            Some(ErrorClass::CircuitOpen),
            "an open circuit fails fast"
        );

        tokio::time::advance(Duration::from_secs(11)).await;
        assert_eq!(
            breaker.state(),
            BreakerState::HalfOpen,
            "the cool-down half-opens it"
        );
        let trial = breaker.admit("op");
        assert!(trial.is_ok(), "one trial call goes through");
        assert!(
            breaker.admit("op").is_err(),
            "a second caller waits for the trial's outcome"
        );
        if let Ok(ticket) = trial {
            ticket.record(&Ok(()));
        }
        assert_eq!(
            breaker.state(),
            BreakerState::Closed,
            "a successful trial closes it"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_trial_reopens_and_client_errors_do_not_count() {
        let breaker = CircuitBreaker::new(BreakerPolicy {
            failure_threshold: 2,
            cool_down: Duration::from_secs(1),
        });
        let rejected: IntegrationResult<()> = Err(error(ErrorClass::CredentialsRejected));
        for _ in 0..5 {
            breaker.admit("op").map(|t| t.record(&rejected)).ok();
        }
        assert_eq!(
            breaker.state(),
            BreakerState::Closed,
            "401s say nothing about the platform's health"
        );
        let down: IntegrationResult<()> = Err(error(ErrorClass::Unreachable));
        for _ in 0..2 {
            breaker.admit("op").map(|t| t.record(&down)).ok();
        }
        tokio::time::advance(Duration::from_secs(2)).await;
        breaker.admit("op").map(|t| t.record(&down)).ok();
        assert_eq!(
            breaker.state(),
            BreakerState::Open,
            "a failed trial opens the circuit again"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_limiter_spaces_calls_after_the_burst() {
        let limiter = RateLimiter::new(10.0, 2);
        let start = Instant::now();
        for _ in 0..6 {
            limiter.acquire().await;
        }
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_millis(400) && elapsed < Duration::from_millis(450),
            "2 burst + 4 at 10/s should take 400 ms, took {elapsed:?}"
        );
    }
}
