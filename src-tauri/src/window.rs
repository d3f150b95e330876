//! The main window's desktop manners:
//!
//! - **size and position** are remembered by tauri-plugin-window-state (restored when the
//!   window opens); they are saved a moment after every move or resize, not only at a clean
//!   exit, so a session that ends abruptly keeps them too;
//! - **closing** hides the window and keeps the app in the tray, so health and contract
//!   notifications keep coming, but only when a tray is there to bring it back: with no tray
//!   icon, or no tray host to show it (a bare X server, a desktop without a status area),
//!   closing quits as usual. "Quit" in the tray menu ends the app;
//! - [`show`] brings the window back (tray menu, a second launch).

use std::sync::mpsc;
use std::time::Duration;

use tauri::{AppHandle, Manager, WebviewWindow, WindowEvent};
use tauri_plugin_window_state::{AppHandleExt, StateFlags};

/// Quiet time after the last move or resize before the state is written.
const SAVE_AFTER: Duration = Duration::from_millis(400);

/// Shows, unminimises and focuses the main window.
pub fn show(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// Hooks the behaviour above onto `window`.
pub fn track(window: &WebviewWindow) {
    let app = window.app_handle().clone();
    let (moved, quiet) = mpsc::channel::<()>();
    let saver = app.clone();
    let spawned = std::thread::Builder::new()
        .name("window-state".into())
        .spawn(move || {
            while quiet.recv().is_ok() {
                // Wait for the moves to stop, then save once.
                while quiet.recv_timeout(SAVE_AFTER).is_ok() {}
                let app = saver.clone();
                // The plugin's state is read on the main thread, where its listeners run.
                let _ = saver.run_on_main_thread(move || {
                    if let Err(e) = app.save_window_state(StateFlags::all()) {
                        tracing::warn!(error = %e, "window size and position not saved");
                    }
                });
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "window size and position saved at exit only");
    }
    let hider = window.clone();
    window.on_window_event(move |event| match event {
        WindowEvent::Moved(_) | WindowEvent::Resized(_) => {
            let _ = moved.send(());
        }
        WindowEvent::CloseRequested { api, .. } if keeps_running(&app) => {
            api.prevent_close();
            let _ = app.save_window_state(StateFlags::all());
            let _ = hider.hide();
            tracing::info!("window closed; still running in the tray");
        }
        _ => {}
    });
}

/// Whether closing the window should leave the app running in the tray.
fn keeps_running(app: &AppHandle) -> bool {
    crate::tray::exists(app) && tray_host()
}

/// Whether a status area shows tray icons: on Linux, a StatusNotifierWatcher on the session
/// bus (what the tray icon registers with); elsewhere the system always has one.
#[cfg(target_os = "linux")]
fn tray_host() -> bool {
    let owned = zbus::blocking::Connection::session().and_then(|bus| {
        let dbus = zbus::blocking::fdo::DBusProxy::new(&bus)?;
        let name = zbus::names::BusName::try_from("org.kde.StatusNotifierWatcher")?;
        Ok(dbus.name_has_owner(name)?)
    });
    owned.unwrap_or(false)
}

#[cfg(not(target_os = "linux"))]
fn tray_host() -> bool {
    true
}
