//! The command tree and what each command does. Handlers are thin: parse, call core, print.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use ecosystem_core::workspace::{self, SETTINGS};
use ecosystem_core::{
    ContractInput, HealthCheck, Lifecycle, LifecycleAction, NewPartner, Partner, PartnerFilter,
    PartnerKind, PartnerUpdate, Registry, Result, Tier,
};

use crate::output::{self, Format};

#[derive(Debug, Parser)]
#[command(
    name = "ecosystem",
    version,
    about = "Manage an MLOps organisation's strategic partners: registry, contracts and more",
    long_about = None
)]
pub struct Cli {
    /// The database file [default: the desktop app's, in the OS data directory]
    #[arg(long, global = true, env = "ECOSYSTEM_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Register, find, change and remove partners
    #[command(subcommand)]
    Partner(PartnerCommand),
    /// Test the connection to a partner: state, latency, error class and the capabilities
    /// verified (exit 0 healthy or degraded, 3 unhealthy)
    Check(crate::check::CheckArgs),
    /// A partner platform's events after a cursor (runs created, state changes...), then the
    /// cursor to poll from next; with --follow, stream them until --for elapses or Ctrl-C
    Events(crate::events::EventsArgs),
    /// A partner's health: state and since when, uptime (24h to 1y), latency p50/p95,
    /// incidents and the recorded history since --since
    Health(crate::health::HealthArgs),
    /// SLA compliance per partner for a month or quarter (--period 2026-10 or 2026-Q4; the
    /// current one to date by default): attained %, budget left, breaches, credit owed
    Sla(crate::sla::SlaArgs),
    /// Poll every active, unpaused partner's health on its interval and record it (headless
    /// poller, following registry changes as it runs); --once checks each once (exit 3 if any
    /// is unhealthy)
    Poll(crate::poll::PollArgs),
    /// Stream health transitions as they are recorded (by `ecosystem poll` or the desktop
    /// app), one line each, until --for elapses or Ctrl-C
    Watch(crate::watch::WatchArgs),
    /// Announce, list and remove maintenance windows (one-off or weekly, for one partner or
    /// all); failed checks inside a window do not make a partner unhealthy
    #[command(subcommand)]
    Maintenance(crate::maintenance::MaintenanceCommand),
    /// Collect partners' usage now (platform figures and Ecosystem's own call counts, per
    /// UTC day) and show what is stored
    #[command(subcommand)]
    Usage(crate::usage::UsageCommand),
    /// Measure the poller (checks, CPU per check, peak RSS, database bytes, schedule lag) or
    /// the usage report and CSV export (`bench report`)
    #[command(subcommand)]
    Bench(crate::bench_report::AnyBench),
    /// Reports: `report usage` sums usage over a range of days, grouped and bucketed, with
    /// totals and the change against the previous period (table, JSON or CSV);
    /// `report quarterly` writes one partner's quarterly review (CSV and HTML, or JSON)
    #[command(subcommand)]
    Report(crate::report::ReportCommand),
    /// Set and show a partner's contract
    #[command(subcommand)]
    Contract(ContractCommand),
    /// Store, show and remove partners' credentials (the secrets live in the OS keyring)
    #[command(subcommand)]
    Credential(crate::credential::CredentialCommand),
    /// Contracts across all partners: expiring ones and their expiry alerts
    #[command(subcommand)]
    Contracts(crate::contracts::ContractsCommand),
    /// Write the whole workspace (partners, contracts, settings; never secrets) to a JSON file
    Export {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Read a workspace file; nothing is written unless every record is valid
    Import {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Show or export the audit log (who, what, when of every change), newest first
    Audit(crate::audit::AuditArgs),
    /// Show or change workspace settings
    #[command(subcommand)]
    Settings(SettingsCommand),
    /// The database file itself: `db check` runs SQLite's integrity check (exit 1 if not ok);
    /// `db encrypt` and `db key export|import|status` manage encryption at rest
    #[command(subcommand)]
    Db(crate::db::DbCommand),
}

#[derive(Debug, Subcommand)]
pub enum PartnerCommand {
    /// Register a partner (it starts in the onboarding state)
    Add(AddPartner),
    /// List partners, optionally filtered
    List(ListPartners),
    /// Show one partner
    Show {
        name: String,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Change a partner's fields
    Update(UpdatePartner),
    /// Remove a partner and its contract
    Remove { name: String },
    /// Give an http partner its check file (request and conditions, see docs/CUSTOM-CHECKS.md);
    /// the file is validated and stored, and errors name its line
    SetCheck {
        name: String,
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Remove an http partner's check file (it is then checked with a plain GET)
    ClearCheck { name: String },
    /// Pause a partner: its health shows paused and it is not polled until resumed (audited)
    Pause {
        name: String,
        /// Why, recorded in the health history and the audit log
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },
    /// End a partner's pause: its health follows its checks again (audited)
    Resume {
        name: String,
        /// Why, recorded in the health history and the audit log
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Move a partner through its lifecycle
    Lifecycle {
        name: String,
        #[arg(value_parser = parse_word::<LifecycleAction>)]
        action: LifecycleAction,
    },
}

#[derive(Debug, Args)]
pub struct AddPartner {
    pub name: String,
    #[arg(long, value_parser = parse_word::<PartnerKind>)]
    pub kind: PartnerKind,
    #[arg(long, value_name = "URL")]
    pub endpoint: String,
    #[arg(long, value_parser = parse_word::<Tier>, default_value = "standard")]
    pub tier: Tier,
    #[arg(long)]
    pub owner: Option<String>,
    /// A capability of the partner (repeat for more)
    #[arg(long = "capability", value_name = "C")]
    pub capabilities: Vec<String>,
    /// A tag (repeat for more)
    #[arg(long = "tag", value_name = "T")]
    pub tags: Vec<String>,
    /// The partner this one depends on
    #[arg(long, value_name = "NAME")]
    pub depends_on: Option<String>,
    /// Seconds between health checks [default: the workspace setting, else 60]
    #[arg(long, value_name = "SECS")]
    pub interval: Option<u32>,
    /// Seconds a health check may take [default: the workspace setting, else 10]
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u32>,
}

#[derive(Debug, Args)]
pub struct ListPartners {
    #[arg(long, value_parser = parse_word::<PartnerKind>)]
    pub kind: Option<PartnerKind>,
    #[arg(long, value_parser = parse_word::<Tier>)]
    pub tier: Option<Tier>,
    #[arg(long, value_parser = parse_word::<Lifecycle>)]
    pub lifecycle: Option<Lifecycle>,
    #[arg(long)]
    pub owner: Option<String>,
    /// Partners with this capability (repeat: all of them)
    #[arg(long = "capability", value_name = "C")]
    pub capabilities: Vec<String>,
    /// Partners with this tag (repeat: all of them)
    #[arg(long = "tag", value_name = "T")]
    pub tags: Vec<String>,
    /// Free text over name, owner, endpoint, capabilities and tags
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct UpdatePartner {
    pub name: String,
    /// A new name
    #[arg(long = "name", value_name = "NEW_NAME")]
    pub new_name: Option<String>,
    #[arg(long, value_parser = parse_word::<PartnerKind>)]
    pub kind: Option<PartnerKind>,
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    #[arg(long, value_parser = parse_word::<Tier>)]
    pub tier: Option<Tier>,
    #[arg(long, conflicts_with = "no_owner")]
    pub owner: Option<String>,
    /// Clear the owner
    #[arg(long)]
    pub no_owner: bool,
    /// Replace the capabilities with these (repeat for more)
    #[arg(long = "capability", value_name = "C")]
    pub capabilities: Vec<String>,
    /// Remove every capability
    #[arg(long, conflicts_with = "capabilities")]
    pub no_capabilities: bool,
    /// Replace the tags with these (repeat for more)
    #[arg(long = "tag", value_name = "T")]
    pub tags: Vec<String>,
    /// Remove every tag
    #[arg(long, conflicts_with = "tags")]
    pub no_tags: bool,
    #[arg(long, value_name = "NAME", conflicts_with = "no_depends_on")]
    pub depends_on: Option<String>,
    /// Remove the dependency
    #[arg(long)]
    pub no_depends_on: bool,
    #[arg(long, value_name = "SECS")]
    pub interval: Option<u32>,
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u32>,
}

#[derive(Debug, Subcommand)]
pub enum ContractCommand {
    /// Create or replace a partner's contract
    Set(SetContract),
    /// Show a partner's contract
    Show {
        partner: String,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Set a contract's SLA terms (window, time zone, accounting rules, credit tiers, fee);
    /// flags left out keep their value, and with none the terms are shown
    SlaTerms(crate::sla::SlaTermsArgs),
    /// Expiry alerts: ack, snooze, renew, terminate, alert-stages, brief (crates/cli/src/contracts.rs)
    #[command(flatten)]
    Alerts(crate::contracts::ContractAlertCommand),
}

#[derive(Debug, Args)]
pub struct SetContract {
    pub partner: String,
    #[arg(long, value_parser = parse_date, value_name = "YYYY-MM-DD")]
    pub start: NaiveDate,
    #[arg(long, value_parser = parse_date, value_name = "YYYY-MM-DD")]
    pub end: NaiveDate,
    /// Days of notice needed before the end [default: the workspace setting, else 30]
    #[arg(long, value_name = "N")]
    pub notice_days: Option<u32>,
    #[arg(long)]
    pub auto_renew: bool,
    /// Promised availability in percent
    #[arg(long, value_name = "PCT", default_value_t = ContractInput::DEFAULT_SLA_TARGET)]
    pub sla_target: f64,
    /// Contract value, a plain number such as 120000.50
    #[arg(long, value_name = "AMOUNT", requires = "currency")]
    pub value: Option<String>,
    /// ISO 4217 code such as USD
    #[arg(long, value_name = "CODE", requires = "value")]
    pub currency: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// List the settings that are set, and the ones that can be
    List,
    /// Set a setting
    Set { key: String, value: String },
}

/// Parses one of the core's closed word sets, with its own message naming the choices.
fn parse_word<T>(s: &str) -> std::result::Result<T, String>
where
    T: std::str::FromStr<Err = ecosystem_core::Error>,
{
    s.parse::<T>().map_err(|e| match e {
        ecosystem_core::Error::Invalid { message, .. } => message,
        other => other.to_string(),
    })
}

/// The value parser of every `YYYY-MM-DD` option.
pub(crate) fn parse_date(s: &str) -> std::result::Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| format!("{s:?} is not a valid date; write YYYY-MM-DD"))
}

/// Prints a clap error as one line (exit 2), or help/version as clap would (exit 0).
pub fn report_usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return ExitCode::from(
            if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                2
            } else {
                0
            },
        );
    }
    let rendered = e.render().to_string();
    let line = rendered
        .lines()
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    eprintln!("{line}");
    ExitCode::from(2)
}

impl Command {
    pub fn run(self, registry: &mut Registry) -> Result<()> {
        match self {
            Command::Partner(cmd) => cmd.run(registry),
            Command::Contract(cmd) => cmd.run(registry),
            Command::Credential(cmd) => cmd.run(registry),
            // Handled in main: it has its own exit status.
            Command::Check(args) => crate::check::run(registry, args).map(|_| ()),
            Command::Events(args) => crate::events::run(registry, args).map(|_| ()),
            Command::Poll(args) => {
                let db = registry.store().path().to_path_buf();
                crate::poll::run(registry, &db, args).map(|_| ())
            }
            Command::Bench(cmd) => crate::bench_report::run(cmd).map(|_| ()),
            Command::Db(cmd) => {
                let db = registry.store().path().to_path_buf();
                crate::db::run(&db, cmd).map(|_| ())
            }
            Command::Report(cmd) => crate::report::run(registry, cmd),
            Command::Usage(cmd) => crate::usage::run(registry, cmd).map(|_| ()),
            Command::Health(args) => crate::health::run(registry, args),
            Command::Watch(args) => crate::watch::run(registry, args),
            Command::Maintenance(cmd) => crate::maintenance::run(registry, cmd),
            Command::Sla(args) => crate::sla::run(registry, args),
            Command::Contracts(cmd) => crate::contracts::run_contracts(registry, cmd),
            Command::Export { file } => {
                let n = workspace::export_to_file(registry, &file)?;
                println!("exported {n} partner(s) to {}", file.display());
                Ok(())
            }
            Command::Import { file } => {
                let s = workspace::import_file(registry, &file)?;
                println!(
                    "imported {}: {} partner(s) added, {} updated, {} contract(s), {} setting(s), \
                     {} maintenance window(s) added, {} already there",
                    file.display(),
                    s.partners_added,
                    s.partners_updated,
                    s.contracts,
                    s.settings,
                    s.maintenance_added,
                    s.maintenance_kept
                );
                Ok(())
            }
            Command::Audit(args) => crate::audit::run(registry, args),
            Command::Settings(SettingsCommand::List) => {
                let set: std::collections::HashMap<String, String> =
                    registry.settings()?.into_iter().collect();
                output::table(
                    &["KEY", "VALUE", "MEANING"],
                    &SETTINGS
                        .iter()
                        .map(|spec| {
                            vec![
                                spec.key.to_string(),
                                output::or_dash(set.get(spec.key).map(String::as_str)),
                                spec.meaning.to_string(),
                            ]
                        })
                        .collect::<Vec<_>>(),
                );
                Ok(())
            }
            Command::Settings(SettingsCommand::Set { key, value }) => {
                registry.set_setting(&key, &value)?;
                println!("{key} = {value}");
                Ok(())
            }
        }
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

fn setting_u32(registry: &Registry, key: &str, default: u32) -> Result<u32> {
    Ok(registry
        .setting(key)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(default))
}

impl PartnerCommand {
    fn run(self, registry: &mut Registry) -> Result<()> {
        match self {
            PartnerCommand::Add(a) => {
                let defaults = HealthCheck::default();
                let interval = match a.interval {
                    Some(i) => i,
                    None => setting_u32(
                        registry,
                        "health.default_interval_secs",
                        defaults.interval_secs,
                    )?,
                };
                let timeout = match a.timeout {
                    Some(t) => t,
                    None => setting_u32(
                        registry,
                        "health.default_timeout_secs",
                        defaults.timeout_secs,
                    )?
                    .min(interval),
                };
                let p = registry.add_partner(&NewPartner {
                    name: a.name,
                    kind: a.kind,
                    endpoint: a.endpoint,
                    tier: a.tier,
                    owner: a.owner,
                    capabilities: a.capabilities,
                    tags: a.tags,
                    depends_on: a.depends_on,
                    health_check: HealthCheck {
                        interval_secs: interval,
                        timeout_secs: timeout,
                    },
                })?;
                println!(
                    "added partner {:?} ({}, {}, {})",
                    p.name, p.kind, p.tier, p.lifecycle
                );
                Ok(())
            }
            PartnerCommand::List(l) => {
                let partners = registry.list_partners(&PartnerFilter {
                    kind: l.kind,
                    tier: l.tier,
                    lifecycle: l.lifecycle,
                    owner: l.owner,
                    capabilities: l.capabilities,
                    tags: l.tags,
                    text: l.search,
                })?;
                match l.format {
                    Format::Json => output::json(&partners),
                    Format::Table => {
                        print_partners(&partners);
                        Ok(())
                    }
                }
            }
            PartnerCommand::Show { name, format } => {
                let p = registry.partner(&name)?;
                match format {
                    Format::Json => output::json(&p),
                    Format::Table => {
                        let contract = registry.contract(&name)?;
                        let rows = [
                            ("name", p.name.clone()),
                            ("kind", p.kind.to_string()),
                            ("endpoint", p.endpoint.clone()),
                            ("tier", p.tier.to_string()),
                            ("owner", output::or_dash(p.owner.as_deref())),
                            ("lifecycle", p.lifecycle.to_string()),
                            ("capabilities", output::list(&p.capabilities)),
                            ("tags", output::list(&p.tags)),
                            ("depends on", output::or_dash(p.depends_on.as_deref())),
                            (
                                "health check",
                                format!(
                                    "every {} s, timeout {} s",
                                    p.health_check.interval_secs, p.health_check.timeout_secs
                                ),
                            ),
                            (
                                "contract",
                                contract
                                    .map(|c| {
                                        format!(
                                            "{} to {} (notice by {})",
                                            c.start, c.end, c.notice_deadline
                                        )
                                    })
                                    .unwrap_or_else(|| "-".into()),
                            ),
                            ("added", p.created_at.clone()),
                            ("updated", p.updated_at.clone()),
                        ];
                        for (k, v) in rows {
                            println!("{k:<13} {v}");
                        }
                        Ok(())
                    }
                }
            }
            PartnerCommand::Update(u) => {
                let change = PartnerUpdate {
                    name: u.new_name,
                    kind: u.kind,
                    endpoint: u.endpoint,
                    tier: u.tier,
                    owner: if u.no_owner {
                        Some(None)
                    } else {
                        u.owner.map(Some)
                    },
                    capabilities: if u.no_capabilities {
                        Some(Vec::new())
                    } else {
                        Some(u.capabilities).filter(|c| !c.is_empty())
                    },
                    tags: if u.no_tags {
                        Some(Vec::new())
                    } else {
                        Some(u.tags).filter(|t| !t.is_empty())
                    },
                    depends_on: if u.no_depends_on {
                        Some(None)
                    } else {
                        u.depends_on.map(Some)
                    },
                    interval_secs: u.interval,
                    timeout_secs: u.timeout,
                };
                let p = registry.update_partner(&u.name, &change)?;
                println!("updated partner {:?}", p.name);
                Ok(())
            }
            PartnerCommand::SetCheck { name, file } => {
                let source = file.display().to_string();
                let text =
                    std::fs::read_to_string(&file).map_err(|e| ecosystem_core::Error::BadFile {
                        file: source.clone(),
                        message: format!("cannot read: {e}"),
                    })?;
                let check = registry.set_custom_check(&name, &source, &text)?;
                println!(
                    "partner {name:?} is now checked by {source}: {} {} with {} condition(s)",
                    check.request.method,
                    check.request.url,
                    check.conditions.len()
                );
                Ok(())
            }
            PartnerCommand::ClearCheck { name } => {
                registry.remove_custom_check(&name)?;
                println!("partner {name:?} is checked with a plain GET of its endpoint again");
                Ok(())
            }
            PartnerCommand::Remove { name } => {
                registry.remove_partner(&name)?;
                println!("removed partner {name:?}");
                Ok(())
            }
            PartnerCommand::Pause { name, reason } => {
                let t = registry.pause_partner(&name, reason.as_deref())?;
                match t {
                    Some(t) => println!(
                        "partner {name:?} is paused (was {}); it is not polled until resumed",
                        t.transition.from
                    ),
                    None => println!("partner {name:?} is paused; it is not polled until resumed"),
                }
                Ok(())
            }
            PartnerCommand::Resume { name, reason } => {
                let t = registry.resume_partner(&name, reason.as_deref())?;
                match t {
                    Some(t) => println!(
                        "partner {name:?} is resumed: {} ({})",
                        t.transition.to, t.transition.reason
                    ),
                    None => println!("partner {name:?} is resumed"),
                }
                Ok(())
            }
            PartnerCommand::Lifecycle { name, action } => {
                let p = registry.change_lifecycle(&name, action)?;
                println!("partner {:?} is now {}", p.name, p.lifecycle);
                Ok(())
            }
        }
    }
}

fn print_partners(partners: &[Partner]) {
    output::table(
        &[
            "NAME",
            "KIND",
            "TIER",
            "LIFECYCLE",
            "OWNER",
            "CAPABILITIES",
            "TAGS",
            "ENDPOINT",
        ],
        &partners
            .iter()
            .map(|p| {
                vec![
                    p.name.clone(),
                    p.kind.to_string(),
                    p.tier.to_string(),
                    p.lifecycle.to_string(),
                    output::or_dash(p.owner.as_deref()),
                    output::list(&p.capabilities),
                    output::list(&p.tags),
                    p.endpoint.clone(),
                ]
            })
            .collect::<Vec<_>>(),
    );
}

impl ContractCommand {
    fn run(self, registry: &mut Registry) -> Result<()> {
        match self {
            ContractCommand::SlaTerms(args) => crate::sla::set_terms(registry, args),
            ContractCommand::Alerts(cmd) => crate::contracts::run_contract(registry, cmd),
            ContractCommand::Set(s) => {
                let notice_days = match s.notice_days {
                    Some(n) => n,
                    None => setting_u32(
                        registry,
                        "contracts.default_notice_days",
                        ContractInput::DEFAULT_NOTICE_DAYS,
                    )?,
                };
                let c = registry.set_contract(
                    &s.partner,
                    &ContractInput {
                        start: s.start,
                        end: s.end,
                        notice_days,
                        auto_renew: s.auto_renew,
                        sla_target: s.sla_target,
                        value: s.value,
                        currency: s.currency,
                    },
                )?;
                println!(
                    "contract of {:?}: {} to {}, notice deadline {}",
                    c.partner, c.start, c.end, c.notice_deadline
                );
                Ok(())
            }
            ContractCommand::Show { partner, format } => {
                let Some(c) = registry.contract(&partner)? else {
                    return Err(ecosystem_core::Error::NotFound(format!(
                        "partner {partner:?} has no contract; set one with `ecosystem contract set`"
                    )));
                };
                match format {
                    Format::Json => output::json(&c),
                    Format::Table => {
                        let value = match (&c.value, &c.currency) {
                            (Some(v), Some(cur)) => format!("{v} {cur}"),
                            _ => "-".into(),
                        };
                        for (k, v) in [
                            ("partner", c.partner.clone()),
                            ("start", c.start.to_string()),
                            ("end", c.end.to_string()),
                            ("notice days", c.notice_days.to_string()),
                            ("notice by", c.notice_deadline.to_string()),
                            ("auto-renew", yes_no(c.auto_renew)),
                            ("SLA target", format!("{}%", c.sla_target)),
                            ("value", value),
                        ] {
                            println!("{k:<12} {v}");
                        }
                        Ok(())
                    }
                }
            }
        }
    }
}
