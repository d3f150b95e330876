//! The HTTP foundation against a local server that misbehaves on purpose: retries, timeouts,
//! body caps, circuit breaker, bulkhead, rate limit and OAuth token caching, end to end over TCP.

#[path = "support/misbehaving.rs"]
mod misbehaving;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use ecosystem_connectors::http::{Call, PartnerHttp};
use ecosystem_connectors::resilience::{
    BreakerPolicy, BreakerState, Resilience, ResiliencePolicy, RetryPolicy, Sleeper,
};
use ecosystem_core::integration::ErrorClass;
use ecosystem_core::{Credential, Secret};
use misbehaving::{Behaviour, Misbehaving};

/// Records each backoff wait instead of sleeping.
#[derive(Debug, Default)]
struct RecordingSleeper(Mutex<Vec<Duration>>);

#[async_trait]
impl Sleeper for RecordingSleeper {
    async fn sleep(&self, duration: Duration) {
        self.0.lock().unwrap().push(duration);
    }
}

fn policy() -> ResiliencePolicy {
    ResiliencePolicy {
        timeout: Duration::from_secs(5),
        max_body_bytes: 64 * 1024,
        retry: RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
            max_elapsed: Duration::from_secs(30),
        },
        breaker: BreakerPolicy {
            failure_threshold: 100,
            cool_down: Duration::from_secs(60),
        },
        rate_per_second: None,
        rate_burst: 1,
        max_in_flight: 16,
    }
}

fn partner(url: &str, policy: ResiliencePolicy, sleeper: Arc<RecordingSleeper>) -> PartnerHttp {
    PartnerHttp::with_resilience(
        "sim".into(),
        url,
        None,
        Resilience::with_sleeper(policy, sleeper),
    )
    .expect("a partner over a loopback URL")
}

fn get() -> Call {
    Call::get("read thing", "/thing")
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried_after_the_asked_delay() {
    let server = Misbehaving::start(|n, _| match n {
        0 => Behaviour::status(429, r#"{"errors":["slow down"]}"#).header("Retry-After", "3"),
        _ => Behaviour::status(200, "{}"),
    })
    .await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let http = partner(&server.url, policy(), sleeper.clone());
    let result = http.execute(&get()).await;
    assert!(result.is_ok(), "the retry should succeed: {result:?}");
    assert_eq!(server.requests(), 2, "one 429, one retry");
    assert_eq!(
        *sleeper.0.lock().unwrap(),
        vec![Duration::from_secs(3)],
        "waited exactly the Retry-After"
    );
}

#[tokio::test]
async fn datadog_rate_limit_reset_is_honoured_as_the_wait() {
    let server = Misbehaving::start(|n, _| match n {
        0 => Behaviour::status(429, r#"{"errors":["Rate limit exceeded"]}"#)
            .header("X-RateLimit-Reset", "2"),
        _ => Behaviour::status(200, "{}"),
    })
    .await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let result = partner(&server.url, policy(), sleeper.clone())
        .execute(&get())
        .await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(
        *sleeper.0.lock().unwrap(),
        vec![Duration::from_secs(2)],
        "waited X-RateLimit-Reset seconds"
    );
}

#[tokio::test]
async fn a_5xx_is_retried_with_backoff_then_succeeds() {
    let server = Misbehaving::start(|n, _| match n {
        0 => Behaviour::status(503, "{}"),
        1 => Behaviour::status(500, r#"{"error_code":"INTERNAL_ERROR","message":"boom"}"#),
        _ => Behaviour::status(200, r#"{"ok":true}"#),
    })
    .await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let response = partner(&server.url, policy(), sleeper.clone())
        .execute(&get())
        .await;
    assert!(response.is_ok(), "the third attempt succeeds: {response:?}");
    assert_eq!(server.requests(), 3, "two failures, one success");
    let delays = sleeper.0.lock().unwrap().clone();
    assert_eq!(delays.len(), 2, "two backoff waits: {delays:?}");
    assert!(
        delays[0] <= Duration::from_millis(100) && delays[1] <= Duration::from_millis(200),
        "full jitter under 100 ms, then 200 ms: {delays:?}"
    );
}

#[tokio::test]
async fn retries_stop_after_max_attempts_with_the_last_error() {
    let server = Misbehaving::start(|_, _| Behaviour::status(502, "")).await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let err = partner(&server.url, policy(), sleeper)
        .execute(&get())
        .await
        .expect_err("always 502");
    assert_eq!(err.class, ErrorClass::PlatformError, "{err}");
    assert_eq!(err.status, Some(502), "{err}");
    assert_eq!(server.requests(), 4, "max_attempts bounds the calls");
}

#[tokio::test]
async fn a_401_is_not_retried() {
    let server =
        Misbehaving::start(|_, _| Behaviour::status(401, "You are not authenticated.")).await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let err = partner(&server.url, policy(), sleeper.clone())
        .execute(&get())
        .await
        .expect_err("401");
    assert_eq!(err.class, ErrorClass::CredentialsRejected, "{err}");
    assert_eq!(server.requests(), 1, "a refused credential is not retried");
    assert!(sleeper.0.lock().unwrap().is_empty(), "no backoff");
    assert!(
        err.message.starts_with("sim read thing: HTTP 401"),
        "the message names partner and operation: {err}"
    );
}

#[tokio::test]
async fn a_non_idempotent_post_is_not_repeated_after_a_500() {
    let server = Misbehaving::start(|_, _| Behaviour::status(500, "{}")).await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let call = Call::post_json("create thing", "/things", serde_json::json!({"name": "x"}));
    let err = partner(&server.url, policy(), sleeper)
        .execute(&call)
        .await
        .expect_err("500");
    assert_eq!(err.class, ErrorClass::PlatformError, "{err}");
    assert_eq!(
        server.requests(),
        1,
        "a create that may have happened is not sent twice"
    );
}

#[tokio::test]
async fn a_hang_hits_the_timeout() {
    let server = Misbehaving::start(|_, _| Behaviour::Hang).await;
    let mut p = policy();
    p.timeout = Duration::from_millis(300);
    p.retry = RetryPolicy::never();
    let started = Instant::now();
    let err = partner(&server.url, p, Arc::default())
        .execute(&get())
        .await
        .expect_err("hang");
    assert_eq!(err.class, ErrorClass::TimedOut, "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the timeout ends the call: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn malformed_json_is_an_unexpected_response() {
    let server =
        Misbehaving::start(|_, _| Behaviour::status(200, r#"{"experiments": [ oops"#)).await;
    let err = partner(&server.url, policy(), Arc::default())
        .json::<serde_json::Value>(&get())
        .await
        .expect_err("malformed");
    assert_eq!(err.class, ErrorClass::UnexpectedResponse, "{err}");
    assert_eq!(server.requests(), 1, "a malformed answer is not retried");
}

#[tokio::test]
async fn an_endless_body_is_cut_at_the_cap_and_memory_stays_bounded() {
    let server = Misbehaving::start(|_, _| Behaviour::Endless).await;
    let err = partner(&server.url, policy(), Arc::default())
        .execute(&get())
        .await
        .expect_err("too large");
    assert_eq!(err.class, ErrorClass::UnexpectedResponse, "{err}");
    assert!(err.message.contains("65536-byte limit"), "{err}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let written = server.endless_written.load(Ordering::SeqCst);
    assert!(
        written < 64 * 1024 * 1024,
        "the client hung up early instead of reading on: {written} bytes written"
    );
}

#[tokio::test]
async fn a_declared_oversized_body_is_refused_before_reading_it() {
    let server = Misbehaving::start(|_, _| Behaviour::status(200, &"x".repeat(200_000))).await;
    let err = partner(&server.url, policy(), Arc::default())
        .execute(&get())
        .await
        .expect_err("too large");
    assert_eq!(err.class, ErrorClass::UnexpectedResponse, "{err}");
}

#[tokio::test]
async fn a_refused_connection_is_unreachable_and_the_message_has_no_url() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut p = policy();
    p.retry = RetryPolicy::never();
    let err = partner(&format!("http://127.0.0.1:{port}"), p, Arc::default())
        .execute(&get())
        .await
        .expect_err("closed port");
    assert_eq!(err.class, ErrorClass::Unreachable, "{err}");
    assert!(
        !err.message.contains("http://"),
        "no URL in the message: {err}"
    );
}

#[tokio::test]
async fn the_circuit_opens_after_n_failures_fails_fast_then_half_opens() {
    let healthy = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = healthy.clone();
    let server = Misbehaving::start(move |_, _| {
        if flag.load(Ordering::SeqCst) {
            Behaviour::status(200, "{}")
        } else {
            Behaviour::status(500, "{}")
        }
    })
    .await;
    let mut p = policy();
    p.retry = RetryPolicy::never();
    p.breaker = BreakerPolicy {
        failure_threshold: 3,
        cool_down: Duration::from_millis(300),
    };
    let http = partner(&server.url, p, Arc::default());
    for _ in 0..3 {
        let err = http.execute(&get()).await.expect_err("500");
        assert_eq!(err.class, ErrorClass::PlatformError, "{err}");
    }
    assert_eq!(
        http.resilience().breaker.state(),
        BreakerState::Open,
        "three failures open the circuit"
    );
    let started = Instant::now();
    let err = http.execute(&get()).await.expect_err("open");
    assert_eq!(err.class, ErrorClass::CircuitOpen, "{err}");
    assert!(
        started.elapsed() < Duration::from_millis(50),
        "failing fast"
    );
    assert_eq!(server.requests(), 3, "an open circuit sends nothing");
    let probe = http.execute(&get().probe()).await;
    assert!(
        probe.is_err() && server.requests() == 4,
        "a health probe bypasses the breaker"
    );

    healthy.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(
        http.resilience().breaker.state(),
        BreakerState::HalfOpen,
        "the cool-down half-opens it"
    );
    let trial = http.execute(&get()).await;
    assert!(trial.is_ok(), "the trial call goes through: {trial:?}");
    assert_eq!(
        http.resilience().breaker.state(),
        BreakerState::Closed,
        "a good trial closes it"
    );
}

#[tokio::test]
async fn the_bulkhead_never_lets_more_than_k_calls_in_flight() {
    let server = Misbehaving::start(|_, _| {
        Behaviour::Slow(
            Duration::from_millis(150),
            Box::new(Behaviour::status(200, "{}")),
        )
    })
    .await;
    let mut p = policy();
    p.max_in_flight = 2;
    let http = Arc::new(partner(&server.url, p, Arc::default()));
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let http = http.clone();
            tokio::spawn(async move { http.execute(&get()).await })
        })
        .collect();
    for call in calls {
        assert!(
            call.await.unwrap().is_ok(),
            "every call completes eventually"
        );
    }
    assert_eq!(server.requests(), 8, "all eight were served");
    assert_eq!(
        server.max_in_flight.load(Ordering::SeqCst),
        2,
        "at most two at a time reached the server"
    );
}

#[tokio::test]
async fn the_rate_limiter_spaces_calls() {
    let server = Misbehaving::start(|_, _| Behaviour::status(200, "{}")).await;
    let mut p = policy();
    p.rate_per_second = Some(10.0);
    p.rate_burst = 1;
    let http = partner(&server.url, p, Arc::default());
    for _ in 0..5 {
        http.execute(&get()).await.expect("200");
    }
    let arrivals = server.arrivals();
    for pair in arrivals.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_millis(80),
            "calls are about 100 ms apart at 10/s: {gap:?}"
        );
    }
}

#[tokio::test]
async fn oauth_tokens_are_fetched_once_for_concurrent_calls_and_refreshed_after_a_401() {
    let tokens = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let issued = tokens.clone();
    let server = Misbehaving::start(move |_, head| {
        if head.starts_with("POST /token") {
            assert!(
                head.to_lowercase().contains("authorization: basic "),
                "client_secret_basic: {head}"
            );
            let n = issued.fetch_add(1, Ordering::SeqCst) + 1;
            return Behaviour::Slow(
                Duration::from_millis(100),
                Box::new(Behaviour::status(
                    200,
                    &format!(
                        r#"{{"access_token":"tok{n}","token_type":"Bearer","expires_in":3600}}"#
                    ),
                )),
            );
        }
        // The first token is "revoked" once a second one exists.
        let current = format!("authorization: bearer tok{}", issued.load(Ordering::SeqCst));
        if head.to_lowercase().contains(&current) && !head.to_lowercase().contains("revoke-me") {
            Behaviour::status(200, "{}")
        } else {
            Behaviour::status(
                401,
                r#"{"error_code":"UNAUTHENTICATED","message":"bad token"}"#,
            )
        }
    })
    .await;
    let credential = Credential::OauthClientCredentials {
        token_url: format!("{}/token", server.url),
        client_id: "client".into(),
        client_secret: Secret::new("s3cret"),
        scope: Some("all-apis".into()),
    };
    let http = Arc::new(
        PartnerHttp::with_resilience(
            "sim".into(),
            &server.url,
            Some(&credential),
            Resilience::with_sleeper(policy(), Arc::new(RecordingSleeper::default())),
        )
        .unwrap(),
    );
    let calls: Vec<_> = (0..6)
        .map(|_| {
            let http = http.clone();
            tokio::spawn(async move { http.execute(&get()).await })
        })
        .collect();
    for call in calls {
        assert!(call.await.unwrap().is_ok(), "each call is authorised");
    }
    assert_eq!(
        tokens.load(Ordering::SeqCst),
        1,
        "six concurrent calls share one token fetch"
    );

    // The platform now refuses the cached token: one refresh, then success.
    let refused = http
        .execute(&Call::get("read thing", "/thing").query("x", "revoke-me"))
        .await;
    assert_eq!(
        refused.map_err(|e| e.class).err(),
        Some(ErrorClass::CredentialsRejected),
        "a refused token after a refresh is final"
    );
    assert_eq!(
        tokens.load(Ordering::SeqCst),
        2,
        "a 401 drops the cached token and fetches one more"
    );
}
