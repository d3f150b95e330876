//! The app's logs: tracing to stderr from the first line, and to a daily file in the OS log
//! directory (`app_log_dir()`: `~/.local/share/<identifier>/logs` on Linux,
//! `~/Library/Logs/<identifier>` on macOS, `%LOCALAPPDATA%\<identifier>\logs` on Windows) once
//! Tauri can say where that is. Files are named `ecosystem.YYYY-MM-DD.log`; only the newest
//! [`KEEP_FILES`] are kept. The filter is `RUST_LOG`, else `info`.
//!
//! Both writers hand each line to a thread of their own, so a slow disk or a stderr nobody
//! reads (a full pipe) never stalls the thread that logs; past a backlog, lines are dropped.
//!
//! Secrets never reach a log: credentials are not passed to tracing (only partner names,
//! keyring item names and error texts, which the credential code keeps free of secrets). As a
//! second line, both writers mask every line with `ecosystem_core::redact` (e-mail addresses,
//! tokens, credential headers, key material), and panics are masked the same way
//! (`ecosystem_core::redact::log_panics`).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ecosystem_core::redact::RedactingWriter;
use tracing_appender::non_blocking::{NonBlocking, WorkerGuard};
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::fmt::writer::OptionalWriter;
use tracing_subscriber::prelude::*;
use tracing_subscriber::EnvFilter;

/// How many daily files are kept (today's included).
pub const KEEP_FILES: usize = 7;
const FILE_PREFIX: &str = "ecosystem";
const FILE_SUFFIX: &str = "log";

/// The file writer, set once the log directory is known.
static FILE: OnceLock<NonBlocking> = OnceLock::new();
/// Flushes the file writer when dropped (see [`flush`]).
static GUARD: Mutex<Option<WorkerGuard>> = Mutex::new(None);
/// Flushes the stderr writer when dropped (see [`flush`]).
static STDERR_GUARD: Mutex<Option<WorkerGuard>> = Mutex::new(None);
/// The folder the files go to.
static DIR: OnceLock<PathBuf> = OnceLock::new();

/// Starts logging to stderr; the file joins with [`attach_dir`]. Call once, first thing.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let file = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(|| match FILE.get() {
            Some(w) => OptionalWriter::some(RedactingWriter::new(w.clone())),
            None => OptionalWriter::none(),
        });
    // Written from a thread of its own: a stderr nobody reads must not stall the poller.
    let (stderr, guard) = ecosystem_core::redact::stderr_layer(std::io::stderr().is_terminal());
    if let Ok(mut slot) = STDERR_GUARD.lock() {
        *slot = Some(guard);
    }
    tracing_subscriber::registry()
        .with(filter)
        .with(stderr)
        .with(file)
        .init();
    ecosystem_core::redact::log_panics();
}

/// Sends the logs to a daily file in `dir` too (created if missing), pruning old files.
pub fn attach_dir(dir: &Path) -> Result<(), String> {
    let appender = appender(dir)?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    if FILE.set(writer).is_err() {
        return Err("the log file is already attached".into());
    }
    if let Ok(mut slot) = GUARD.lock() {
        *slot = Some(guard);
    }
    let _ = DIR.set(dir.to_path_buf());
    Ok(())
}

/// The folder of the log files, once attached.
pub fn dir() -> Option<&'static Path> {
    DIR.get().map(PathBuf::as_path)
}

/// Writes out what is still buffered for the file and stderr; call as the process ends.
/// Whatever is logged afterwards is dropped.
pub fn flush() {
    for guard in [&GUARD, &STDERR_GUARD] {
        if let Ok(mut slot) = guard.lock() {
            drop(slot.take());
        }
    }
}

fn appender(dir: &Path) -> Result<RollingFileAppender, String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create the log folder {}: {e}", dir.display()))?;
    RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(FILE_PREFIX)
        .filename_suffix(FILE_SUFFIX)
        .max_log_files(KEEP_FILES)
        .build(dir)
        .map_err(|e| format!("cannot open a log file in {}: {e}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn log_files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("ecosystem.") && n.ends_with(".log"))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writes_a_dated_file_in_a_folder_it_creates() {
        let root = std::env::temp_dir().join(format!("ecosystem-logs-{}-a", std::process::id()));
        let dir = root.join("nested/logs");
        let mut appender = appender(&dir).unwrap();
        appender.write_all(b"hello\n").unwrap();
        appender.flush().unwrap();
        let files = log_files(&dir);
        assert_eq!(files.len(), 1, "{files:?}");
        let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
        assert_eq!(files[0], format!("ecosystem.{today}.log"));
        let text = std::fs::read_to_string(dir.join(&files[0])).unwrap();
        assert_eq!(text, "hello\n");
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn keeps_only_the_newest_files() {
        let dir = std::env::temp_dir().join(format!("ecosystem-logs-{}-b", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for day in 1..=10 {
            std::fs::write(dir.join(format!("ecosystem.2020-01-{day:02}.log")), "old\n").unwrap();
        }
        std::fs::write(dir.join("notes.txt"), "not a log").unwrap();
        let _appender = appender(&dir).unwrap();
        assert_eq!(log_files(&dir).len(), KEEP_FILES);
        assert!(dir.join("notes.txt").exists(), "other files are left alone");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
