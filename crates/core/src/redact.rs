//! Masking for log output. Secrets are kept out of logs by construction ([`crate::Secret`] has
//! no `Display` and a redacting `Debug`); this is the second line: every log line the app and
//! the CLI write passes through [`redact`] once, in the writer ([`RedactingWriter`]), so text
//! that carries a secret or a person's address by accident (an error body, an endpoint with a
//! token in its query, an owner's e-mail) is masked whatever the call site.
//!
//! The rules (docs/SECURITY.md has them with examples), each replacing what it hides with `***`:
//! - e-mail addresses keep the first character of the local part and the domain
//!   (`alice@example.com` → `a***@example.com`): the organisation stays readable, the person not;
//! - `Bearer`, `Basic`, `Token` and `Digest` credentials keep the scheme word
//!   (`Authorization: Bearer ***`); a following word with no digit shorter than 16 characters
//!   is prose ("a Bearer credential") and is left alone;
//! - credential headers (`Authorization`, `Proxy-Authorization`, `Cookie`, `X-API-Key`,
//!   `DD-API-KEY`, ...) with a colon keep the header name;
//! - key-value pairs whose key ends in `token`, `secret`, `password`, `passwd`, `pwd`,
//!   `api_key`, `apikey`, `app_key`, `private_key`, `signature`, `session` or `sig`, written
//!   `key=value` (query strings, log fields) or `"key": "value"` (JSON), keep the key;
//! - the password of a URL's user info (`https://user:***@host`);
//! - JSON Web Tokens (three base64url parts, the first two starting `eyJ`);
//! - key material: a run of 32 or more hex digits (API keys; also SHA-256 digests, which the
//!   logs therefore show by a short prefix when they must name one), and a run of 32 or more
//!   token characters (`A-Z a-z 0-9 + = _ -`) mixing upper case, lower case and digits.
//!
//! Left readable on purpose: UUIDs (hex groups of at most 12), dates, durations, URLs without
//! credentials, file paths (a `/` or `.` ends a token run), partner names and keys such as
//! `key="health.interval"` whose name is not a secret's.

use std::borrow::Cow;
use std::io::{self, Write};
use std::sync::OnceLock;

use regex::{Captures, Regex};
use tracing_appender::non_blocking::{NonBlocking, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// What replaces a masked value.
pub const MASK: &str = "***";

/// Terminal colour codes the log formatter may put between a field's key, `=` and value.
const ANSI: &str = r"(?:\x1b\[[0-9;]*m)*";

struct Rules {
    jwt: Regex,
    url_password: Regex,
    header: Regex,
    scheme: Regex,
    json_pair: Regex,
    pair: Regex,
    email: Regex,
    token_run: Regex,
}

fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| {
        let secret_key = r"[A-Za-z0-9_.-]*(?:token|secret|password|passwd|pwd|api[_-]?key|apikey|app[_-]?key|application[_-]?key|private[_-]?key|signature|session|sig)";
        let compile = |pattern: &str| Regex::new(pattern).expect("a redaction rule compiles");
        Rules {
            jwt: compile(r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"),
            url_password: compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]+:)[^\s/@]+@"),
            header: compile(&format!(
                r"(?i)\b((?:proxy-)?authorization|cookie|set-cookie|x-api-key|x-auth-token|dd-api-key|dd-application-key|x-databricks-token|private-token){ANSI}\s*:\s*{ANSI}(?:(bearer|basic|token|digest)\s+)?([^\s,;]+)"
            )),
            scheme: compile(r"(?i)\b(bearer|basic|token|digest)(\s+)([A-Za-z0-9._~+/=-]{8,})"),
            json_pair: compile(&format!(
                r#"(?i)("{secret_key}"\s*:\s*")((?:[^"\\]|\\.)*)""#
            )),
            pair: compile(&format!(
                r#"(?i)(^|[^A-Za-z0-9_.-])({secret_key}{ANSI}\s*={ANSI}\s*)("(?:[^"\\]|\\.)*"|'[^']*'|[^\s&,;"')\]}}]+)"#
            )),
            email: compile(r"\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})\b"),
            token_run: compile(r"[A-Za-z0-9+=_-]{32,}"),
        }
    })
}

/// `text` with every secret-looking part masked (see the module's rules). Borrowed when nothing
/// needed masking, which is the usual case.
pub fn redact(text: &str) -> Cow<'_, str> {
    let r = rules();
    let mut out = Cow::Borrowed(text);
    let mut apply = |rule: &Regex, replace: &dyn Fn(&Captures) -> String| {
        if rule.is_match(&out) {
            let replaced = rule
                .replace_all(&out, |c: &Captures| replace(c))
                .into_owned();
            // A rule may match and decide to keep the text (prose, a UUID): no copy then.
            if replaced != *out {
                out = Cow::Owned(replaced);
            }
        }
    };
    apply(&r.jwt, &|_| MASK.to_string());
    apply(&r.url_password, &|c| format!("{}{MASK}@", &c[1]));
    apply(&r.header, &|c| match c.get(2) {
        Some(scheme) => format!("{}: {} {MASK}", &c[1], scheme.as_str()),
        None => format!("{}: {MASK}", &c[1]),
    });
    apply(&r.scheme, &|c| {
        let value = &c[3];
        if value == MASK || (value.len() < 16 && !value.bytes().any(|b| b.is_ascii_digit())) {
            c[0].to_string()
        } else {
            format!("{}{}{MASK}", &c[1], &c[2])
        }
    });
    apply(&r.json_pair, &|c| format!("{}{MASK}\"", &c[1]));
    apply(&r.pair, &|c| {
        let value = &c[3];
        let quote = match value.as_bytes()[0] {
            q @ (b'"' | b'\'') => Some(q as char),
            _ => None,
        };
        let inner = quote.map_or(value, |_| &value[1..value.len().saturating_sub(1)]);
        if inner.is_empty() || inner == MASK || inner.starts_with(MASK) {
            return c[0].to_string();
        }
        match quote {
            Some(q) => format!("{}{}{q}{MASK}{q}", &c[1], &c[2]),
            None => format!("{}{}{MASK}", &c[1], &c[2]),
        }
    });
    apply(&r.email, &|c| format!("{}{MASK}@{}", &c[1], &c[2]));
    apply(&r.token_run, &|c| {
        let run = &c[0];
        if looks_like_key(run) {
            MASK.to_string()
        } else {
            run.to_string()
        }
    });
    out
}

/// A long run of token characters is key material when it holds 32 hex digits in a row, or
/// mixes upper case, lower case and digits (random base64/base62).
fn looks_like_key(run: &str) -> bool {
    let mut hex_streak = 0;
    let (mut upper, mut lower, mut digit) = (false, false, false);
    for b in run.bytes() {
        if b.is_ascii_hexdigit() {
            hex_streak += 1;
            if hex_streak >= 32 {
                return true;
            }
        } else {
            hex_streak = 0;
        }
        upper |= b.is_ascii_uppercase();
        lower |= b.is_ascii_lowercase();
        digit |= b.is_ascii_digit();
    }
    upper && lower && digit
}

/// A writer that masks what goes through it: it gathers one log record (the formatter writes a
/// record, then drops its writer) and writes it out redacted on [`flush`](Write::flush) or
/// drop. Use it as the log formatter's writer, e.g.
/// `.with_writer(|| RedactingWriter::new(std::io::stderr()))`.
pub struct RedactingWriter<W: Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> RedactingWriter<W> {
    pub fn new(inner: W) -> Self {
        RedactingWriter {
            inner,
            pending: Vec::new(),
        }
    }

    fn write_pending(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&self.pending);
        let result = self.inner.write_all(redact(&text).as_bytes());
        self.pending.clear();
        result
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_pending()?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        let _ = self.write_pending();
        let _ = self.inner.flush();
    }
}

/// How many log records may wait for a slow standard error before new ones are dropped
/// (see [`stderr_writer`]); at a few hundred bytes a record, about 2 MB.
pub const STDERR_BACKLOG: usize = 10_000;

/// Standard error for the log of a long-running process (the app, `ecosystem poll`): records
/// are handed to a thread of their own (`log-stderr`) that writes them out, so a stderr nobody
/// reads (a full pipe, a terminal stopped with Ctrl-S, a stalled log collector) never stalls
/// the thread that logs, the poller or the window. Past [`STDERR_BACKLOG`] waiting records,
/// new ones are dropped and counted ([`NonBlocking::error_counter`]) rather than waited for.
/// Keep the guard until the process ends: dropping it writes out what is waiting (for up to a
/// second).
pub fn stderr_writer() -> (NonBlocking, WorkerGuard) {
    NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(STDERR_BACKLOG)
        .thread_name("log-stderr")
        .finish(io::stderr())
}

/// The log target of the panic records [`log_panics`] writes.
pub const PANIC_TARGET: &str = "panic";

/// Shows panics masked, instead of raw on stderr: the hook writes the masked message and
/// backtrace straight to stderr before it returns (a panic that ends the process must still
/// show, and a log writer on a thread of its own might not get to it), and logs it as an error
/// with target [`PANIC_TARGET`] for the log file. A stderr log layer leaves those records out
/// with [`not_panic`], so a panic shows once there. Call after the log subscriber is installed.
pub fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic with no message".to_string());
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let thread = std::thread::current();
        let backtrace = std::backtrace::Backtrace::capture();
        let backtrace = match backtrace.status() {
            std::backtrace::BacktraceStatus::Captured => format!("\n{backtrace}"),
            _ => String::new(),
        };
        let thread = thread.name().unwrap_or("unnamed");
        let line = format!("panic in thread {thread} at {location}: {message}{backtrace}");
        // Not eprintln!, which panics (inside this hook, so aborting) when stderr is a closed pipe.
        let _ = writeln!(io::stderr(), "{}", redact(&line));
        tracing::error!(target: PANIC_TARGET, thread, location, "{message}{backtrace}");
    }));
}

/// Every record but the panics, which [`log_panics`] writes to stderr itself.
fn not_panic(meta: &tracing::Metadata<'_>) -> bool {
    meta.target() != PANIC_TARGET
}

/// The stderr log layer of the app and the CLI: every record but the panics (which
/// [`log_panics`] writes), masked, and written by the writer thread of [`stderr_writer`];
/// `ansi` colours it (for a terminal). Keep the guard until the process ends.
pub fn stderr_layer<S>(ansi: bool) -> (impl Layer<S> + Send + Sync + 'static, WorkerGuard)
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    let (stderr, guard) = stderr_writer();
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(ansi)
        .with_writer(move || RedactingWriter::new(stderr.clone()))
        .with_filter(filter_fn(not_panic));
    (layer, guard)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(text: &str) -> String {
        redact(text).into_owned()
    }

    #[test]
    fn emails_keep_their_first_character_and_domain() {
        assert_eq!(
            masked("owner=alice.smith+ops@example.co.uk added"),
            "owner=a***@example.co.uk added"
        );
        assert_eq!(
            masked(r#"owner=Some("bob@ml.example.com")"#),
            r#"owner=Some("b***@ml.example.com")"#
        );
        assert_eq!(
            masked("two: a@x.io, zed@y.org"),
            "two: a***@x.io, z***@y.org"
        );
    }

    #[test]
    fn bearer_basic_and_credential_headers_keep_only_their_scheme() {
        assert_eq!(
            masked("Authorization: Bearer dapi0123456789abcdef"),
            "Authorization: Bearer ***"
        );
        assert_eq!(
            masked("authorization:basic YWxpY2U6c2VjcmV0 next"),
            "authorization: basic *** next"
        );
        assert_eq!(masked("X-API-Key: k3y-v4lue"), "X-API-Key: ***");
        assert_eq!(masked("DD-API-KEY:abcdef"), "DD-API-KEY: ***");
        assert_eq!(masked("sent Bearer eyA1b2c3d4e5"), "sent Bearer ***");
        assert_eq!(masked("Cookie: session=abc123"), "Cookie: ***");
    }

    #[test]
    fn secret_keys_in_queries_fields_and_json_lose_their_values() {
        assert_eq!(
            masked("GET https://h.example/api?token=abc123&page=2 failed"),
            "GET https://h.example/api?token=***&page=2 failed"
        );
        assert_eq!(
            masked(r#"update{client_secret="s3cr3t" api_key=k1 password='p w'}"#),
            r#"update{client_secret="***" api_key=*** password='***'}"#
        );
        assert_eq!(
            masked(r#"{"access_token": "tok\"en", "expires_in": 3600}"#),
            r#"{"access_token": "***", "expires_in": 3600}"#
        );
        assert_eq!(
            masked("\x1b[3mpassword\x1b[0m\x1b[2m=\x1b[0mhunter2"),
            "\x1b[3mpassword\x1b[0m\x1b[2m=\x1b[0m***"
        );
        assert_eq!(
            masked("https://alice:pa55@h.example/x"),
            "https://alice:***@h.example/x"
        );
    }

    #[test]
    fn jwts_and_key_material_are_masked() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert_eq!(masked(&format!("id {jwt} end")), "id *** end");
        assert_eq!(
            masked("datadog key 0123456789abcdef0123456789abcdef rejected"),
            "datadog key *** rejected"
        );
        assert_eq!(
            masked("token dapi0123456789abcdef0123456789abcdef"),
            "token ***"
        );
        assert_eq!(
            masked("key AKIAq9Xz8Yw7Vu6Ts5Rr4Qp3Oo2Nn1Mm0LlKk end"),
            "key *** end"
        );
    }

    #[test]
    fn ordinary_log_text_is_left_alone() {
        for text in [
            "partner=\"Databricks EU\" status=503 attempt=2 elapsed_ms=1204",
            "id 550e8400-e29b-41d4-a716-446655440000 removed",
            "logging to files dir=/home/User/.local/share/dev.ecosystem.app/logs",
            "update_setting{key=\"health.interval\" value=\"30\"}",
            "stored a Bearer credential for Kubeflow",
            "Basic authentication refused: HTTP 401",
            "credential_type=bearer token_url=https://idp.example.com/token",
            "password: must not be empty",
            "exported usage-calls_per_day-2026-01-01-to-2026-03-31.csv",
            "retrying partner call class=rate_limited delay_ms=250",
            "tokens=12 passwords_checked=true",
            "user@ without a domain, and @handle",
        ] {
            assert_eq!(masked(text), text, "changed: {text}");
            assert!(matches!(redact(text), Cow::Borrowed(_)), "copied: {text}");
        }
    }

    #[test]
    fn already_masked_text_stays_as_it_is() {
        for text in ["token=***", "Authorization: Bearer ***", "a***@example.com"] {
            assert_eq!(masked(text), text);
        }
    }

    #[test]
    fn the_writer_masks_a_record_written_in_pieces_once_it_is_done() {
        let mut out = Vec::new();
        {
            let mut writer = RedactingWriter::new(&mut out);
            writer.write_all(b"call failed api_").unwrap();
            writer.write_all(b"key=abc123 owner=carol@").unwrap();
            writer.write_all(b"example.org\n").unwrap();
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "call failed api_key=*** owner=c***@example.org\n"
        );
        let mut out = Vec::new();
        let mut writer = RedactingWriter::new(&mut out);
        writer.write_all(b"token=t0ken\n").unwrap();
        writer.flush().unwrap();
        drop(writer);
        assert_eq!(String::from_utf8(out).unwrap(), "token=***\n");
    }

    /// Set for the child process of [`a_panic_shows_once_on_stderr_masked`].
    const PANIC_CHILD: &str = "ECOSYSTEM_REDACT_PANIC_CHILD";

    /// The child: the stderr logging of the app and the CLI (a writer thread, panics left to
    /// the hook), a warning, then a panic in a named thread carrying a token and an
    /// e-mail address.
    fn panic_child() -> ! {
        use tracing_subscriber::prelude::*;
        let (layer, guard) = stderr_layer(false);
        tracing_subscriber::registry().with(layer).init();
        log_panics();
        tracing::warn!("about to fail, api_key=0123456789abcdef0123456789abcdef");
        let panicked = std::thread::Builder::new()
            .name("poller".into())
            .spawn(|| panic!("refused: token=s3cr3tT0kenValue owner=alice.smith@example.com"))
            .expect("a thread")
            .join()
            .is_err();
        drop(guard);
        std::process::exit(if panicked { 3 } else { 0 });
    }

    #[test]
    fn a_panic_shows_once_on_stderr_masked() {
        if std::env::var_os(PANIC_CHILD).is_some() {
            panic_child();
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "redact::tests::a_panic_shows_once_on_stderr_masked",
                "--nocapture",
            ])
            .env(PANIC_CHILD, "1")
            .env_remove("RUST_BACKTRACE")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "the child panicked: {stderr}");
        assert_eq!(
            stderr.matches("refused:").count(),
            1,
            "the panic shows once: {stderr}"
        );
        assert!(
            stderr.contains("panic in thread poller at crates/core/src/redact.rs:")
                && stderr.contains("refused: token=*** owner=a***@example.com"),
            "the panic names its thread and place, masked: {stderr}"
        );
        assert!(
            stderr.contains("WARN ecosystem_core::redact::tests: about to fail, api_key=***"),
            "what was logged before is written out: {stderr}"
        );
        for secret in ["s3cr3tT0kenValue", "alice.smith", "0123456789abcdef0123"] {
            assert!(!stderr.contains(secret), "{secret} leaked: {stderr}");
        }
    }
}
