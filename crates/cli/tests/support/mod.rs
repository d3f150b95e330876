//! What the CLI tests that need partner-sim share: a simulator running on its own runtime, a
//! temporary database, and the real `ecosystem` binary run on it with stdin piped.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use partner_sim::{Platform, RunningSim, Sim, SimConfig};

pub struct SimWorkspace {
    runtime: tokio::runtime::Runtime,
    sim: Option<RunningSim>,
    dir: tempfile::TempDir,
    db: PathBuf,
    log_level: &'static str,
}

impl SimWorkspace {
    /// Every simulated platform, on free loopback ports.
    pub fn new() -> SimWorkspace {
        SimWorkspace::with_config(SimConfig::default())
    }

    pub fn with_config(config: SimConfig) -> SimWorkspace {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let sim = runtime
            .block_on(Sim::start(config))
            .expect("partner-sim starts");
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("ecosystem.db");
        SimWorkspace {
            runtime,
            sim: Some(sim),
            dir,
            db,
            log_level: "debug",
        }
    }

    /// The `ECOSYSTEM_LOG` level the binary runs with (debug by default, so a leak in a log
    /// line is caught by the tests that scan stderr).
    pub fn log_level(mut self, level: &'static str) -> SimWorkspace {
        self.log_level = level;
        self
    }

    pub fn sim(&self) -> &RunningSim {
        self.sim.as_ref().expect("sim running")
    }

    pub fn url(&self, platform: Platform) -> String {
        self.sim().base_url(platform)
    }

    /// Runs a future on the simulator's runtime (to drive a connector from the test).
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ecosystem"));
        command
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .env("ECOSYSTEM_LOG", self.log_level)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Runs `ecosystem ARGS` with `stdin` piped in.
    pub fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self.command(args).spawn().expect("run ecosystem");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("wait")
    }

    /// Runs and expects success; returns stdout.
    pub fn ok(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "`ecosystem {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for SimWorkspace {
    fn drop(&mut self) {
        if let Some(sim) = self.sim.take() {
            self.runtime.block_on(sim.shutdown());
        }
    }
}

/// A running `ecosystem` whose output lines are read as they come, so a test can wait for
/// a line (never for a fixed time) and then act.
pub struct Running {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<(Stream, String)>,
    stdout: Vec<String>,
    stderr: Vec<String>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Running {
    /// Starts `command` (its stdout and stderr must be piped) with stdin closed.
    pub fn spawn(mut command: Command) -> Running {
        command.stdin(Stdio::null());
        let mut child = command.spawn().expect("start ecosystem");
        let (tx, rx) = std::sync::mpsc::channel();
        let mut readers = Vec::new();
        let out = child.stdout.take().expect("piped stdout");
        let err = child.stderr.take().expect("piped stderr");
        for (stream, pipe) in [
            (
                Stream::Stdout,
                Box::new(out) as Box<dyn std::io::Read + Send>,
            ),
            (Stream::Stderr, Box::new(err)),
        ] {
            let tx = tx.clone();
            readers.push(std::thread::spawn(move || {
                use std::io::BufRead;
                for line in std::io::BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    if tx.send((stream, line)).is_err() {
                        break;
                    }
                }
            }));
        }
        Running {
            child,
            lines: rx,
            stdout: Vec::new(),
            stderr: Vec::new(),
            readers,
        }
    }

    /// Waits for a line of `stream` that satisfies `wanted` and returns it; panics with all
    /// the output so far if the process ends first.
    pub fn wait_for(&mut self, stream: Stream, wanted: impl Fn(&str) -> bool) -> String {
        loop {
            match self.lines.recv() {
                Ok((s, line)) => {
                    let hit = s == stream && wanted(&line);
                    match s {
                        Stream::Stdout => self.stdout.push(line.clone()),
                        Stream::Stderr => self.stderr.push(line.clone()),
                    }
                    if hit {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "the process ended before the line awaited on {stream:?}; stdout:\n{}\nstderr:\n{}",
                    self.stdout.join("\n"),
                    self.stderr.join("\n")
                ),
            }
        }
    }

    /// Sends SIGINT (what Ctrl-C sends) to the process.
    pub fn interrupt(&self) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid");
        // SAFETY: kill(2) with a pid this test started and still owns (not yet waited for).
        let rc = unsafe { libc::kill(pid, libc::SIGINT) };
        assert_eq!(rc, 0, "SIGINT delivered");
    }

    /// Waits for the process to end; its exit code with every stdout and stderr line.
    pub fn finish(mut self) -> (Option<i32>, Vec<String>, Vec<String>) {
        let status = self.child.wait().expect("wait");
        for r in self.readers.drain(..) {
            r.join().expect("reader");
        }
        while let Ok((s, line)) = self.lines.try_recv() {
            match s {
                Stream::Stdout => self.stdout.push(line),
                Stream::Stderr => self.stderr.push(line),
            }
        }
        (
            status.code(),
            std::mem::take(&mut self.stdout),
            std::mem::take(&mut self.stderr),
        )
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A test that failed midway must not leave its process behind.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
