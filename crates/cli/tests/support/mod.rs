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
