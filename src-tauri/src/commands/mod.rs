//! The commands the UI calls. Each is a thin wrapper: take the registry, call core, map the
//! error to the one shape the UI knows, `{code, message, field}`.

use ecosystem_core::{Error, Facets, NewPartner, Partner, PartnerFilter, Registry};
use serde::Serialize;
use tauri::State;

use crate::AppState;

pub mod contracts;
pub mod credentials;
pub mod health;
pub mod reports;

/// The one error shape that crosses to the UI.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct CommandError {
    /// `invalid`, `not_found`, `conflict`, `bad_file` or `internal`.
    pub code: String,
    pub message: String,
    /// The form field at fault, when there is one.
    pub field: Option<String>,
}

impl From<Error> for CommandError {
    fn from(e: Error) -> Self {
        if !e.is_bad_input() {
            tracing::error!(error = %e, "command failed");
        }
        let field = e
            .field()
            .map(str::to_string)
            .or_else(|| leading_field(&e.to_string()));
        CommandError {
            code: e.code().to_string(),
            message: e.to_string(),
            field,
        }
    }
}

/// Conflicts name their field first ("name: a partner named ... already exists").
fn leading_field(message: &str) -> Option<String> {
    let (head, _) = message.split_once(": ")?;
    ["name", "depends_on", "lifecycle"]
        .contains(&head)
        .then(|| head.to_string())
}

pub(crate) type CommandResult<T> = Result<T, CommandError>;

/// Runs `f` on the registry on a blocking thread, so SQLite never stalls the UI's event loop.
pub(crate) async fn with_registry<T: Send + 'static>(
    state: State<'_, AppState>,
    f: impl FnOnce(&mut Registry) -> ecosystem_core::Result<T> + Send + 'static,
) -> CommandResult<T> {
    let registry = state.registry.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let mut guard = registry.lock().map_err(|_| CommandError {
            code: "internal".into(),
            message: "the registry is unavailable after an earlier failure; restart Ecosystem"
                .into(),
            field: None,
        })?;
        f(&mut guard).map_err(CommandError::from)
    })
    .await
    .map_err(|e| CommandError {
        code: "internal".into(),
        message: format!("the command did not finish: {e}"),
        field: None,
    })?
}

/// Partners matching the filter, ordered by name.
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state))]
pub async fn list_partners(
    state: State<'_, AppState>,
    filter: PartnerFilter,
) -> CommandResult<Vec<Partner>> {
    with_registry(state, move |r| r.list_partners(&filter)).await
}

/// Registers a new partner (lifecycle: onboarding).
#[tauri::command]
#[specta::specta]
#[tracing::instrument(skip(state, partner), fields(name = %partner.name))]
pub async fn add_partner(
    state: State<'_, AppState>,
    partner: NewPartner,
) -> CommandResult<Partner> {
    with_registry(state, move |r| r.add_partner(&partner)).await
}

/// The capabilities, tags and owners in use, for the filter menus.
#[tauri::command]
#[specta::specta]
pub async fn partner_facets(state: State<'_, AppState>) -> CommandResult<Facets> {
    with_registry(state, |r| r.facets()).await
}

/// Where the data lives and how much there is.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct WorkspaceInfo {
    pub db_path: String,
    pub schema_version: u32,
    pub partner_count: u32,
}

#[tauri::command]
#[specta::specta]
pub async fn workspace_info(state: State<'_, AppState>) -> CommandResult<WorkspaceInfo> {
    with_registry(state, |r| {
        Ok(WorkspaceInfo {
            db_path: r.store().path().display().to_string(),
            schema_version: r.store().schema_version()?,
            partner_count: r.list_partners(&PartnerFilter::default())?.len() as u32,
        })
    })
    .await
}
