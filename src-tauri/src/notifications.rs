//! Native notifications. The words come from the core's notification policy
//! (`ecosystem_core::notify`); this module only puts them on the desktop and brings the
//! partner's page up when one is clicked.
//!
//! On Linux a notification goes to the session's `org.freedesktop.Notifications` service over
//! D-Bus (notify-rust, pure Rust). It carries a `default` action, which notification daemons
//! invoke when the bubble is clicked; a thread per notification waits for that action (or
//! for the bubble to close) and then emits [`OpenPartner`] and raises the window. We use
//! notify-rust directly rather than tauri-plugin-notification because the plugin has no click
//! callback on desktop platforms.

use ecosystem_core::contract_alerts::ContractAlert;
use ecosystem_core::notify::{Notification, NotificationKind};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager};
use tauri_specta::Event;

/// Asks the UI to open a partner's page (a notification about it was clicked).
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct OpenPartner {
    pub name: String,
}

/// The application name daemons show and group by.
const APP_NAME: &str = "Ecosystem";

/// What goes on screen.
#[derive(Debug, Clone)]
struct Toast {
    summary: String,
    body: String,
    /// Stays until dismissed (a partner down).
    critical: bool,
    /// The partner whose page a click opens.
    partner: Option<String>,
}

/// Raises a health notification without blocking the caller. Failures (no notification
/// service on the bus, say) are logged, never fatal: the history and the UI still have it all.
pub fn raise(app: &AppHandle, n: Notification) {
    let critical = matches!(n.kind, NotificationKind::Down | NotificationKind::StillDown);
    spawn(
        app,
        Toast {
            summary: n.summary,
            body: n.body,
            critical,
            partner: n.partner,
        },
    );
}

/// Raises a contract's expiry alert (one per stage); a click opens the partner's page, where
/// the contract and its renewal brief are.
pub fn raise_contract_alert(app: &AppHandle, alert: ContractAlert) {
    spawn(
        app,
        Toast {
            summary: alert.summary,
            body: alert.body,
            critical: false,
            partner: Some(alert.partner),
        },
    );
}

fn spawn(app: &AppHandle, toast: Toast) {
    let app = app.clone();
    let spawned = std::thread::Builder::new()
        .name("notification".into())
        .spawn(move || show(&app, &toast));
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start a notification thread");
    }
}

#[cfg(all(unix, not(target_os = "macos")))]
fn show(app: &AppHandle, n: &Toast) {
    use notify_rust::{Timeout, Urgency};

    let mut native = notify_rust::Notification::new();
    native
        .appname(APP_NAME)
        .summary(&n.summary)
        .body(&n.body)
        // A partner down stays on screen until dismissed; the rest are ordinary news.
        .urgency(if n.critical {
            Urgency::Critical
        } else {
            Urgency::Normal
        })
        .timeout(Timeout::Default);
    if n.partner.is_some() {
        native.action("default", "Open partner");
    }
    let handle = match native.show() {
        Ok(handle) => handle,
        Err(e) => {
            tracing::warn!(error = %e, summary = %n.summary, "notification not shown");
            return;
        }
    };
    tracing::info!(summary = %n.summary, "notification shown");
    if let Some(partner) = n.partner.clone() {
        let app = app.clone();
        handle.wait_for_action(move |action| {
            if action == "default" {
                open_partner(&app, &partner);
            }
        });
    }
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
fn show(_app: &AppHandle, n: &Toast) {
    let mut native = notify_rust::Notification::new();
    native.appname(APP_NAME).summary(&n.summary).body(&n.body);
    if let Err(e) = native.show() {
        tracing::warn!(error = %e, summary = %n.summary, "notification not shown");
    }
}

/// Shows the window and asks the UI to open `partner`'s page.
pub fn open_partner(app: &AppHandle, partner: &str) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
    let event = OpenPartner {
        name: partner.to_string(),
    };
    if let Err(e) = event.emit(app) {
        tracing::error!(error = %e, "cannot ask the window to open a partner");
    }
}
