//! The desktop shell of Ecosystem: a Tauri 2 window over ecosystem-core. It opens the same
//! database file as the `ecosystem` CLI and exposes a few typed commands; each command is a
//! few lines that call core and map its error. The TypeScript bindings in
//! `ui/src/lib/bindings.ts` are generated from these commands (see `specta_builder`).

mod commands;
pub mod demo;
pub mod health_service;
pub mod logging;
pub mod notifications;
pub mod tray;
pub mod tray_summary;
pub mod window;

use std::sync::{Arc, Mutex};

use ecosystem_core::{Registry, Surface};
use tauri::Manager;
use tauri_specta::{collect_commands, collect_events, Builder};

pub use commands::CommandError;

/// State shared by the commands: the registry on the app's database file.
pub struct AppState {
    pub registry: Arc<Mutex<Registry>>,
}

/// The command set, from which both the IPC handler and the TypeScript bindings come.
pub fn specta_builder() -> Builder<tauri::Wry> {
    Builder::<tauri::Wry>::new()
        .events(collect_events![
            health_service::HealthChanged,
            health_service::ContractAlertsChanged,
            commands::reports::ExportProgress,
            notifications::OpenPartner
        ])
        .commands(collect_commands![
            commands::list_partners,
            commands::add_partner,
            commands::partner_facets,
            commands::workspace_info,
            commands::first_paint,
            commands::credentials::partner_detail,
            commands::credentials::set_credential,
            commands::credentials::remove_credential,
            commands::credentials::test_connection,
            commands::partner::catalogue_ids,
            commands::partner::partner_page,
            commands::partner::activate_partner,
            commands::partner::update_partner,
            commands::health::health_overview,
            commands::health::partner_health,
            commands::health::partner_health_chart,
            commands::health::partner_sla,
            commands::health::set_partner_paused,
            commands::contracts::contract_alerts,
            commands::contracts::expiring_contracts,
            commands::contracts::acknowledge_contract_alert,
            commands::contracts::snooze_contract,
            commands::contracts::renew_contract,
            commands::contracts::terminate_contract,
            commands::contracts::renewal_brief,
            commands::reports::usage_report,
            commands::reports::usage_chart,
            commands::reports::export_usage_csv,
            commands::review::quarterly_review,
            commands::review::export_quarterly_review,
            commands::reports::export_usage_chart,
            commands::overview::overview,
            commands::settings::list_settings,
            commands::settings::update_setting,
            commands::audit::audit_log,
            commands::audit::export_audit_csv,
            commands::demo::demo_status,
            commands::demo::start_demo,
            commands::demo::remove_demo,
        ])
}

/// The running health service, stopped when the app exits.
struct HealthServiceSlot(Mutex<Option<health_service::HealthService>>);

/// The TypeScript bindings as text, exactly as committed in `ui/src/lib/bindings.ts`.
pub fn typescript_bindings() -> Result<String, String> {
    let dir = std::env::temp_dir().join(format!("ecosystem-bindings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let file = dir.join("bindings.ts");
    specta_builder()
        .export(
            specta_typescript::Typescript::default()
                .header("// Generated from the Rust commands by tauri-specta; do not edit. Regenerate: make bindings\n/* eslint-disable */"),
            &file,
        )
        .map_err(|e| e.to_string())?;
    let text = std::fs::read_to_string(&file).map_err(|e| e.to_string());
    let _ = std::fs::remove_dir_all(&dir);
    text
}

/// When this process started, for [`commands::first_paint`].
pub(crate) static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

pub fn run() {
    STARTED.get_or_init(std::time::Instant::now);
    logging::init();

    let db_path = match ecosystem_core::default_db_path() {
        Ok(p) => p,
        Err(e) => fatal_at_start(&e.to_string()),
    };
    // Changes made in the window are audited as the OS user in the app (`alice (app)`).
    let registry = match Registry::open_as(&db_path, Surface::App) {
        Ok(r) => r,
        Err(e) => fatal_at_start(&e.to_string()),
    };
    tracing::info!(db = %db_path.display(), "registry opened");

    let builder = specta_builder();
    let app = tauri::Builder::default()
        // First, so that a second launch hands over to the running app before doing anything.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            tracing::info!("another launch asked for the window");
            window::show(app);
        }))
        .plugin(tauri_plugin_window_state::Builder::new().build())
        .manage(AppState {
            registry: Arc::new(Mutex::new(registry)),
        })
        .manage(HealthServiceSlot(Mutex::new(None)))
        .manage(demo::DemoSlot::default())
        .plugin(tauri_plugin_dialog::init())
        .invoke_handler(builder.invoke_handler())
        .setup(move |app| {
            match app.path().app_log_dir() {
                Ok(dir) => match logging::attach_dir(&dir) {
                    Ok(()) => {
                        tracing::info!(dir = %dir.display(), db = %db_path.display(), "logging to files")
                    }
                    Err(e) => tracing::warn!(error = %e, "logging to stderr only"),
                },
                Err(e) => tracing::warn!(error = %e, "no log folder; logging to stderr only"),
            }
            builder.mount_events(app);
            tray::create(app.handle());
            if let Some(main) = app.get_webview_window("main") {
                window::track(&main);
            }
            demo::resume_on_start(app.handle());
            let service = health_service::HealthService::start(app.handle().clone(), db_path)?;
            if let Ok(mut slot) = app.state::<HealthServiceSlot>().0.lock() {
                *slot = Some(service);
            }
            Ok(())
        })
        .build(tauri::generate_context!())
        .unwrap_or_else(|e| fatal(&format!("the window could not start: {e}")));
    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event {
            // Stop polling and write what the last checks reported before the process ends.
            let service = handle
                .state::<HealthServiceSlot>()
                .0
                .lock()
                .ok()
                .and_then(|mut slot| slot.take());
            if let Some(mut service) = service {
                service.stop();
            }
            handle.state::<demo::DemoSlot>().stop();
            logging::flush();
        }
    });
}

fn fatal(message: &str) -> ! {
    report_fatal(message);
    std::process::exit(1);
}

/// Logs why the process ends, says it on stderr (even when logging is filtered off) and
/// writes out what the log writers still hold.
fn report_fatal(message: &str) {
    use std::io::Write;
    tracing::error!("{message}");
    let _ = writeln!(std::io::stderr(), "ecosystem: {message}");
    logging::flush();
}

/// The title of the dialog [`fatal_at_start`] shows.
const CANNOT_START_TITLE: &str = "Ecosystem cannot start";

/// Ends the process over a problem found before the window exists: no data directory, or a
/// database that cannot be opened (its key missing from the OS keyring, say). Someone who
/// started the app from their desktop sees no terminal, so the message is also shown in a
/// native dialog, and the process exits once it is closed.
fn fatal_at_start(message: &str) -> ! {
    report_fatal(message);
    show_error_dialog(message);
    std::process::exit(1);
}

/// On Linux, GTK on this thread; without a display `gtk::init` fails and nothing is shown.
#[cfg(target_os = "linux")]
fn show_error_dialog(message: &str) {
    use gtk::prelude::{DialogExt, GtkWindowExt, MessageDialogExt};
    if gtk::init().is_err() {
        return;
    }
    let dialog = gtk::MessageDialog::new(
        None::<&gtk::Window>,
        gtk::DialogFlags::MODAL,
        gtk::MessageType::Error,
        gtk::ButtonsType::Ok,
        CANNOT_START_TITLE,
    );
    dialog.set_title(CANNOT_START_TITLE);
    dialog.set_secondary_text(Some(message));
    dialog.run();
    dialog.close();
}

#[cfg(not(target_os = "linux"))]
fn show_error_dialog(message: &str) {
    rfd::MessageDialog::new()
        .set_level(rfd::MessageLevel::Error)
        .set_title(CANNOT_START_TITLE)
        .set_description(message)
        .set_buttons(rfd::MessageButtons::Ok)
        .show();
}
