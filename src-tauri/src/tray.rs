//! The tray icon: a disc in the colour of the worst partner state, a tooltip with the counts,
//! and a menu with the counts, "Open Ecosystem", links to up to five unhealthy partners and
//! "Quit". What it says comes from [`crate::tray_summary`]; the health service calls
//! [`refresh`] on every batch of recorded changes and on its tick.
//!
//! A tray that cannot be created (no tray support on the platform) is logged and left out;
//! the app runs the same without it.

use std::sync::Mutex;

use ecosystem_core::health_store::HealthHistory;
use ecosystem_core::Registry;
use tauri::image::Image;
use tauri::menu::{Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Manager, Wry};

use crate::tray_summary::{icon_rgba, TraySummary, ICON_SIZE};

const TRAY_ID: &str = "main";
const OPEN_ID: &str = "open";
const QUIT_ID: &str = "quit";
/// Menu ids of partner links: this prefix and the partner's name.
const PARTNER_PREFIX: &str = "partner:";

/// What the tray shows now, so an unchanged summary is not redrawn.
#[derive(Default)]
struct Shown(Mutex<Option<TraySummary>>);

/// Creates the tray (grey, "no partners" until the first refresh). Returns whether it exists.
pub fn create(app: &AppHandle) -> bool {
    app.manage(Shown::default());
    let summary = TraySummary::from_states([]);
    let built = menu(app, &summary).and_then(|menu| {
        TrayIconBuilder::with_id(TRAY_ID)
            .icon(icon(&summary))
            .tooltip(summary.tooltip())
            .menu(&menu)
            .show_menu_on_left_click(true)
            .on_menu_event(on_menu_event)
            .build(app)
    });
    match built {
        Ok(_) => {
            tracing::info!("tray icon created");
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, "no tray icon: the app runs without one");
            false
        }
    }
}

/// Whether the tray exists.
pub fn exists(app: &AppHandle) -> bool {
    app.tray_by_id(TRAY_ID).is_some()
}

/// Redraws the tray from every partner's current state in `registry`, if anything changed.
pub fn refresh(app: &AppHandle, registry: &Registry) {
    if !exists(app) {
        return;
    }
    let badges = match HealthHistory::new(registry.store().conn()).overview() {
        Ok(badges) => badges,
        Err(e) => {
            tracing::warn!(error = %e, "tray not updated");
            return;
        }
    };
    let summary = TraySummary::from_states(badges.iter().map(|b| (b.partner.as_str(), b.state)));
    {
        let shown = app.state::<Shown>();
        let Ok(mut shown) = shown.0.lock() else {
            return;
        };
        if shown.as_ref() == Some(&summary) {
            return;
        }
        *shown = Some(summary.clone());
    }
    let handle = app.clone();
    // Menus and icons belong to the main thread (GTK on Linux).
    let queued = app.run_on_main_thread(move || {
        if let Some(tray) = handle.tray_by_id(TRAY_ID) {
            if let Err(e) = show(&handle, &tray, &summary) {
                tracing::warn!(error = %e, "tray not updated");
            }
        }
    });
    if let Err(e) = queued {
        tracing::warn!(error = %e, "tray not updated");
    }
}

fn show(app: &AppHandle, tray: &TrayIcon, summary: &TraySummary) -> tauri::Result<()> {
    tray.set_icon(Some(icon(summary)))?;
    tray.set_tooltip(Some(summary.tooltip()))?;
    tray.set_menu(Some(menu(app, summary)?))?;
    Ok(())
}

fn icon(summary: &TraySummary) -> Image<'static> {
    Image::new_owned(icon_rgba(summary.level), ICON_SIZE, ICON_SIZE)
}

fn menu(app: &AppHandle, summary: &TraySummary) -> tauri::Result<Menu<Wry>> {
    let menu = Menu::new(app)?;
    for (i, line) in summary.count_lines().into_iter().enumerate() {
        menu.append(&MenuItem::with_id(
            app,
            format!("count:{i}"),
            line,
            false,
            None::<&str>,
        )?)?;
    }
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    menu.append(&MenuItem::with_id(
        app,
        OPEN_ID,
        "Open Ecosystem",
        true,
        None::<&str>,
    )?)?;
    if !summary.linked.is_empty() {
        menu.append(&PredefinedMenuItem::separator(app)?)?;
        for partner in &summary.linked {
            menu.append(&MenuItem::with_id(
                app,
                format!("{PARTNER_PREFIX}{partner}"),
                format!("Open {partner} (unhealthy)"),
                true,
                None::<&str>,
            )?)?;
        }
        if let Some(more) = summary.more_line() {
            menu.append(&MenuItem::with_id(app, "more", more, false, None::<&str>)?)?;
        }
    }
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    menu.append(&MenuItem::with_id(
        app,
        QUIT_ID,
        "Quit",
        true,
        None::<&str>,
    )?)?;
    Ok(menu)
}

fn on_menu_event(app: &AppHandle, event: MenuEvent) {
    let id = event.id().as_ref();
    if id == OPEN_ID {
        crate::window::show(app);
    } else if id == QUIT_ID {
        tracing::info!("quit from the tray");
        app.exit(0);
    } else if let Some(partner) = id.strip_prefix(PARTNER_PREFIX) {
        crate::notifications::open_partner(app, partner);
    }
}
