//! A stand-in for the desktop's notification daemon, for the end-to-end tests: it owns
//! `org.freedesktop.Notifications` on the session bus, answers like a real daemon, and
//! appends every notification it is given to a JSON Lines file, so a test can assert exactly
//! what the app raised. A second interface lets the test play the user:
//! `org.ecosystem.FakeNotifications.Click(id)` emits `ActionInvoked(id, "default")`, as a
//! daemon does when the notification is clicked.
//!
//!     fake-notifyd RECORD_FILE
//!
//! It prints `ready` once it owns the name, and exits when stdin closes or on SIGTERM.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::json;
use zbus::object_server::SignalEmitter;
use zbus::zvariant::OwnedValue;

const PATH: &str = "/org/freedesktop/Notifications";

struct Notifications {
    record: Arc<Mutex<std::fs::File>>,
    next_id: AtomicU32,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Notifications {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        app_name: String,
        replaces_id: u32,
        app_icon: String,
        summary: String,
        body: String,
        actions: Vec<String>,
        hints: HashMap<String, OwnedValue>,
        expire_timeout: i32,
    ) -> u32 {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let urgency = hints.get("urgency").and_then(|v| u8::try_from(v).ok());
        let line = json!({
            "id": id,
            "app_name": app_name,
            "replaces_id": replaces_id,
            "app_icon": app_icon,
            "summary": summary,
            "body": body,
            "actions": actions,
            "urgency": urgency,
            "expire_timeout": expire_timeout,
        });
        // One write per line, so a reader never sees half of one.
        let text = format!("{line}\n");
        let mut file = self.record.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = file.write_all(text.as_bytes()) {
            eprintln!("fake-notifyd: cannot record a notification: {e}");
        }
        id
    }

    fn get_capabilities(&self) -> Vec<String> {
        vec!["body".into(), "actions".into()]
    }

    #[zbus(out_args("name", "vendor", "version", "spec_version"))]
    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "fake-notifyd".into(),
            "ecosystem-tests".into(),
            "1".into(),
            "1.2".into(),
        )
    }

    async fn close_notification(
        &self,
        id: u32,
        #[zbus(signal_emitter)] emitter: SignalEmitter<'_>,
    ) -> zbus::fdo::Result<()> {
        // 3: closed by a call to CloseNotification.
        Notifications::notification_closed(&emitter, id, 3).await?;
        Ok(())
    }

    #[zbus(signal)]
    async fn notification_closed(
        emitter: &SignalEmitter<'_>,
        id: u32,
        reason: u32,
    ) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn action_invoked(
        emitter: &SignalEmitter<'_>,
        id: u32,
        action_key: &str,
    ) -> zbus::Result<()>;
}

/// What the test drives: a click on a notification.
struct Control;

#[zbus::interface(name = "org.ecosystem.FakeNotifications")]
impl Control {
    async fn click(
        &self,
        id: u32,
        #[zbus(connection)] conn: &zbus::Connection,
    ) -> zbus::fdo::Result<()> {
        let emitter = SignalEmitter::new(conn, PATH)?;
        Notifications::action_invoked(&emitter, id, "default").await?;
        Ok(())
    }
}

fn main() {
    let Some(record) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: fake-notifyd RECORD_FILE");
        std::process::exit(2);
    };
    let file = match OpenOptions::new().create(true).append(true).open(&record) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("fake-notifyd: cannot open {}: {e}", record.display());
            std::process::exit(1);
        }
    };
    let server = Notifications {
        record: Arc::new(Mutex::new(file)),
        next_id: AtomicU32::new(1),
    };
    let built = zbus::block_on(async {
        zbus::connection::Builder::session()?
            .serve_at(PATH, server)?
            .serve_at(PATH, Control)?
            .name("org.freedesktop.Notifications")?
            .build()
            .await
    });
    let _conn = match built {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "fake-notifyd: cannot own org.freedesktop.Notifications on the session bus \
                 (run inside dbus-run-session; is another notification daemon running?): {e}"
            );
            std::process::exit(1);
        }
    };
    println!("ready");
    let _ = std::io::stdout().flush();
    // Serve until the test closes our stdin (or kills us).
    for line in std::io::stdin().lock().lines() {
        if line.is_err() {
            break;
        }
    }
}
