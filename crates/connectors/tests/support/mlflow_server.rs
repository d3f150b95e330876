//! Real MLflow tracking servers for the connector tests: one plain, one with
//! `--app-name basic-auth`, started once per test binary on free loopback ports, with SQLite
//! and a local artifact store in a temporary directory.
//!
//! The mlflow binary comes from `MLFLOW_BIN` or `<workspace>/.venv-mlflow/bin/mlflow`
//! (`scripts/install-mlflow.sh`). Each server runs under a small `sh` guardian in its own
//! process group; the guardian waits on a pipe from this test process and, when the pipe
//! closes (the test binary exits, however it exits), stops the whole group and removes the
//! temporary directory.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const ADMIN_USER: &str = "admin";
pub const ADMIN_PASSWORD: &str = "ecosystem-test-admin-pw";

pub struct MlflowServer {
    pub url: String,
    log: PathBuf,
    _guardian: Child,
}

pub struct Servers {
    pub plain: MlflowServer,
    pub basic_auth: MlflowServer,
}

/// The shared servers, started (both at once) on first use.
pub fn servers() -> &'static Servers {
    static SERVERS: OnceLock<Servers> = OnceLock::new();
    SERVERS.get_or_init(|| {
        let bin = mlflow_bin();
        let started = Instant::now();
        let plain = spawn(&bin, false);
        let basic_auth = spawn(&bin, true);
        wait_healthy(&plain);
        wait_healthy(&basic_auth);
        eprintln!(
            "mlflow servers ready in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        Servers { plain, basic_auth }
    })
}

fn mlflow_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("MLFLOW_BIN") {
        return PathBuf::from(bin);
    }
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv-mlflow/bin/mlflow");
    assert!(
        bin.exists(),
        "mlflow is not installed: run scripts/install-mlflow.sh (or set MLFLOW_BIN) before these tests"
    );
    bin
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

const GUARDIAN: &str = r#"
"$@" >"$ECOSYSTEM_TEST_DIR/server.log" 2>&1 &
trap '' TERM
read -r _ || true
kill -TERM 0 2>/dev/null
sleep 2
rm -rf "$ECOSYSTEM_TEST_DIR"
kill -KILL 0
"#;

fn spawn(bin: &Path, basic_auth: bool) -> MlflowServer {
    use std::os::unix::process::CommandExt;

    let dir = tempfile::Builder::new()
        .prefix("ecosystem-mlflow-")
        .tempdir()
        .expect("a temporary directory")
        .keep();
    let port = free_port();
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(GUARDIAN)
        .arg("mlflow-guardian")
        .arg(bin)
        .args([
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--workers",
            "1",
        ])
        .arg("--backend-store-uri")
        .arg(format!("sqlite:///{}", dir.join("mlflow.db").display()))
        .arg("--artifacts-destination")
        .arg(dir.join("artifacts"))
        .env("ECOSYSTEM_TEST_DIR", &dir)
        .env("MLFLOW_TRACKING_URI", "")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    if basic_auth {
        let config = dir.join("basic_auth.ini");
        std::fs::write(
            &config,
            format!(
                "[mlflow]\ndefault_permission = READ\ndatabase_uri = sqlite:///{}\nadmin_username = {ADMIN_USER}\nadmin_password = {ADMIN_PASSWORD}\nauthorization_function = mlflow.server.auth:authenticate_request_basic_auth\n",
                dir.join("basic_auth.db").display()
            ),
        )
        .expect("write the basic-auth config");
        command
            .args(["--app-name", "basic-auth"])
            .env("MLFLOW_AUTH_CONFIG_PATH", &config)
            .env(
                "MLFLOW_FLASK_SERVER_SECRET_KEY",
                format!("test-{port}-{}", std::process::id()),
            );
    }
    let guardian = command.spawn().expect("start the mlflow guardian shell");
    MlflowServer {
        url: format!("http://127.0.0.1:{port}"),
        log: dir.join("server.log"),
        _guardian: guardian,
    }
}

fn wait_healthy(server: &MlflowServer) {
    let deadline = Instant::now() + Duration::from_secs(180);
    let address = server.url.trim_start_matches("http://").to_string();
    while Instant::now() < deadline {
        if let Ok(mut stream) = TcpStream::connect(&address) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = stream.write_all(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer);
            if answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let log = std::fs::read_to_string(&server.log).unwrap_or_default();
    let tail: Vec<&str> = log.lines().rev().take(30).collect();
    panic!(
        "mlflow at {} did not answer /health within 180 s; last log lines:\n{}",
        server.url,
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    );
}
