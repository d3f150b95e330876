//! The desktop shell of Ecosystem: a Tauri 2 window over ecosystem-core. It opens the same
//! database file as the `ecosystem` CLI and exposes a few typed commands; each command is a
//! few lines that call core and map its error. The TypeScript bindings in
//! `ui/src/lib/bindings.ts` are generated from these commands (see `specta_builder`).

mod commands;
pub mod health_service;
pub mod notifications;

use std::sync::{Arc, Mutex};

use ecosystem_core::Registry;
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
            commands::credentials::partner_detail,
            commands::credentials::set_credential,
            commands::credentials::remove_credential,
            commands::credentials::test_connection,
            commands::health::health_overview,
            commands::health::partner_health,
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
            commands::reports::export_usage_csv,
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

pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();

    let db_path = match ecosystem_core::default_db_path() {
        Ok(p) => p,
        Err(e) => fatal(&e.to_string()),
    };
    let registry = match Registry::open(&db_path) {
        Ok(r) => r,
        Err(e) => fatal(&e.to_string()),
    };
    tracing::info!(db = %db_path.display(), "registry opened");

    let builder = specta_builder();
    let app = tauri::Builder::default()
        .manage(AppState {
            registry: Arc::new(Mutex::new(registry)),
        })
        .manage(HealthServiceSlot(Mutex::new(None)))
        .plugin(tauri_plugin_dialog::init())
        .invoke_handler(builder.invoke_handler())
        .setup(move |app| {
            builder.mount_events(app);
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
        }
    });
}

fn fatal(message: &str) -> ! {
    tracing::error!("{message}");
    eprintln!("ecosystem: {message}");
    std::process::exit(1);
}
