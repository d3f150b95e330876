//! The commands the UI calls. Each is a thin wrapper: take the registry, call core, map the
//! error to the one shape the UI knows, `{code, message, field}`.

use std::path::PathBuf;

use ecosystem_core::{Error, Facets, NewPartner, Partner, PartnerFilter, Registry};
use serde::Serialize;
use tauri::{AppHandle, State, Wry};
use tauri_plugin_dialog::{DialogExt, FileDialogBuilder};

use crate::AppState;

pub mod audit;
pub mod contracts;
pub mod credentials;
pub mod demo;
pub mod health;
pub mod overview;
pub mod partner;
pub mod reports;
pub mod review;
pub mod settings;

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
            message: bounded(e.to_string()),
            field,
        }
    }
}

/// The longest message sent back, in characters.
const MAX_MESSAGE_CHARS: usize = 1_000;

/// `message` cut to [`MAX_MESSAGE_CHARS`]: an error that quotes what it was sent (a name of a
/// million characters) stays readable.
fn bounded(message: String) -> String {
    let n = message.chars().count();
    if n <= MAX_MESSAGE_CHARS {
        return message;
    }
    let kept: String = message.chars().take(MAX_MESSAGE_CHARS).collect();
    format!("{kept}… ({} more characters cut)", n - MAX_MESSAGE_CHARS)
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
        // A panic in core (a bug, whatever the input) fails this command only: its transaction
        // rolls back as it unwinds, and the lock is not left poisoned for every later command.
        // The panic itself is logged by the panic hook.
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut guard))) {
            Ok(result) => result.map_err(CommandError::from),
            Err(_) => Err(CommandError {
                code: "internal".into(),
                message: "the command stopped on an internal error; the log has the details".into(),
                field: None,
            }),
        }
    })
    .await
    .map_err(|e| CommandError {
        code: "internal".into(),
        message: format!("the command did not finish: {e}"),
        field: None,
    })?
}

/// What a file dialog asks the user for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Pick {
    /// A file to save to.
    SaveFile,
    /// A folder to write into.
    Folder,
}

/// Shows the file dialog that `setup` configures (on a blocking thread, as dialogs need)
/// and returns the path picked; `None` when the dialog was cancelled.
pub(crate) async fn pick_path(
    app: &AppHandle,
    pick: Pick,
    setup: impl FnOnce(FileDialogBuilder<Wry>) -> FileDialogBuilder<Wry> + Send + 'static,
) -> CommandResult<Option<PathBuf>> {
    let (what, place) = match pick {
        Pick::SaveFile => ("save", "place"),
        Pick::Folder => ("folder", "folder"),
    };
    let app = app.clone();
    let picked = tauri::async_runtime::spawn_blocking(move || {
        let dialog = setup(app.dialog().file());
        match pick {
            Pick::SaveFile => dialog.blocking_save_file(),
            Pick::Folder => dialog.blocking_pick_folder(),
        }
    })
    .await
    .map_err(|e| CommandError {
        code: "internal".into(),
        message: format!("the {what} dialog did not finish: {e}"),
        field: None,
    })?;
    let Some(picked) = picked else {
        return Ok(None);
    };
    picked.into_path().map(Some).map_err(|e| CommandError {
        code: "invalid".into(),
        message: format!("that {place} cannot be written to: {e}"),
        field: Some("path".into()),
    })
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

/// Called by the page once the catalogue is first painted: logs, and returns, the milliseconds
/// since the process started (the cold-start figure of the README's "Measured").
#[tauri::command]
#[specta::specta]
pub fn first_paint() -> u32 {
    let ms = crate::STARTED
        .get()
        .map_or(0, |started| started.elapsed().as_millis());
    let ms = u32::try_from(ms).unwrap_or(u32::MAX);
    tracing::info!(ms, "catalogue painted after start");
    ms
}

#[tauri::command]
#[specta::specta]
pub async fn workspace_info(state: State<'_, AppState>) -> CommandResult<WorkspaceInfo> {
    with_registry(state, |r| {
        Ok(WorkspaceInfo {
            db_path: r.store().path().display().to_string(),
            schema_version: r.store().schema_version()?,
            partner_count: r.partner_count()?,
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_message_is_cut_and_says_how_much_was_left_out() {
        assert_eq!(bounded("short".into()), "short");
        let long = format!("no partner named {:?}", "é".repeat(5_000));
        let cut = bounded(long.clone());
        assert!(cut.starts_with("no partner named \"éé"), "{cut}");
        let tail = format!(
            "… ({} more characters cut)",
            long.chars().count() - MAX_MESSAGE_CHARS
        );
        assert!(cut.ends_with(&tail), "{cut}");
        assert_eq!(
            cut.chars().count(),
            MAX_MESSAGE_CHARS + tail.chars().count()
        );
    }
}
