//! The partner registry: partners, their contracts, settings and the audit log, on the
//! embedded store. Every change runs in one transaction together with its audit-log row, so
//! a change and its record of who made it land together or not at all.
//!
//! Credentials: the registry records what is known about each partner's credential in
//! `credentials_meta` (type, label, expiry, the keyring item's key) in the same transaction as
//! the audit row, and keeps the secret itself in a [`CredentialStore`] (the OS keyring unless
//! one is attached). A new secret is written to a new keyring item before the database points
//! at it, and the old item is deleted only after the commit, so the row always names a whole
//! item.
//!
//! Finding partners is one SQL query built from the filter: each criterion is an indexed
//! lookup (kind, tier, owner and lifecycle have indexes; capabilities and tags are rows keyed
//! by value; free text goes through an FTS5 index), never a scan in Rust.

use std::sync::{Arc, OnceLock};

use chrono::{NaiveDate, SecondsFormat};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row, Transaction};
use serde::Serialize;

use crate::clock::{Clock, SystemClock};
use crate::credential_store::{new_keyring_key, CredentialStore, OsKeyring};
use crate::credentials::{parse_expiry, Credential, CredentialMeta, CredentialType};
use crate::error::{Error, Result};
use crate::model::*;
use crate::sla_terms::{self, ContractSlaTerms};
use crate::store::Store;
use crate::{money, validate};

/// The registry over one database connection.
pub struct Registry {
    store: Store,
    /// Who, and from where, as the audit log records it (`alice (cli)`).
    actor: String,
    /// The person alone (`alice`), for texts that name them (a pause's reason, who
    /// acknowledged an alert).
    user: String,
    clock: Arc<dyn Clock>,
    /// Where secrets go; opened (the OS keyring) the first time one is needed.
    credentials: OnceLock<Arc<dyn CredentialStore>>,
}

/// Where a change is made from; the audit log records it with the person (`alice (app)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// The desktop app.
    App,
    /// The `ecosystem` command line.
    Cli,
}

impl Surface {
    pub fn as_str(self) -> &'static str {
        match self {
            Surface::App => "app",
            Surface::Cli => "cli",
        }
    }
}

impl std::fmt::Display for Surface {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The audit actor of `user` working through `surface`: `alice (cli)`.
pub fn actor_of(user: &str, surface: Surface) -> String {
    format!("{user} ({surface})")
}

/// The OS user: the person recorded as the actor of every change.
pub fn os_user() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".to_string())
}

const SELECT_PARTNER: &str = "
SELECT p.id, p.name, p.kind, p.endpoint, p.tier, p.owner, p.lifecycle, parent.name,
       p.check_interval_secs, p.check_timeout_secs, p.created_at, p.updated_at,
       (SELECT json_group_array(capability) FROM
          (SELECT capability FROM partner_capabilities c WHERE c.partner_id = p.id ORDER BY c.position)),
       (SELECT json_group_array(tag) FROM
          (SELECT tag FROM partner_tags t WHERE t.partner_id = p.id ORDER BY t.position))
FROM partners p LEFT JOIN partners parent ON parent.id = p.parent_id";

const SELECT_PARTNER_ID: &str = "SELECT p.id FROM partners p";

const SELECT_CONTRACT: &str = "
SELECT p.name, c.start_date, c.end_date, c.notice_days, c.auto_renew, c.sla_target, c.value_minor, c.currency
FROM contracts c JOIN partners p ON p.id = c.partner_id";

impl Registry {
    /// Opens the registry on the database file at `path`, acting as the OS user with no
    /// surface named (tools and tests; the app and the CLI use [`Registry::open_as`]).
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<Registry> {
        Ok(Registry::new(
            Store::open(path)?,
            os_user(),
            Arc::new(SystemClock),
        ))
    }

    /// Opens the registry on the database file at `path` for the OS user working through
    /// `surface`: every change is audited as `user (surface)`.
    pub fn open_as(path: impl AsRef<std::path::Path>, surface: Surface) -> Result<Registry> {
        let user = os_user();
        Ok(Registry {
            actor: actor_of(&user, surface),
            user,
            ..Registry::open(path)?
        })
    }

    /// A registry whose changes are audited as `actor` (also the person named in texts).
    pub fn new(store: Store, actor: impl Into<String>, clock: Arc<dyn Clock>) -> Registry {
        let actor = actor.into();
        Registry {
            store,
            user: actor.clone(),
            actor,
            clock,
            credentials: OnceLock::new(),
        }
    }

    /// The audit actor of this registry's changes (`alice (cli)`).
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// Uses `credentials` for secrets instead of opening the OS keyring on first use.
    pub fn with_credential_store(self, credentials: Arc<dyn CredentialStore>) -> Registry {
        Registry {
            credentials: OnceLock::from(credentials),
            ..self
        }
    }

    /// The store that keeps secrets: the one attached, else the OS keyring, opened (with its
    /// canary check) on first use. Fails when no keyring works; never falls back.
    pub fn credential_store(&self) -> Result<Arc<dyn CredentialStore>> {
        if let Some(store) = self.credentials.get() {
            return Ok(store.clone());
        }
        let opened: Arc<dyn CredentialStore> = Arc::new(OsKeyring::open()?);
        Ok(self.credentials.get_or_init(|| opened).clone())
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    fn now(&self) -> String {
        self.clock
            .now()
            .to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// Runs `f` in an immediate (write-locking) transaction and commits if it succeeds.
    pub(crate) fn write<T>(&mut self, f: impl FnOnce(&Writer<'_>) -> Result<T>) -> Result<T> {
        // A person's change and its audit row must survive a power cut, so the WAL is synced as
        // it commits (`synchronous=FULL`: one fsync). The connection's default stays NORMAL for
        // the poller's batches of checks, of which a power cut may cost the last seconds.
        self.store
            .conn()
            .pragma_update(None, "synchronous", DURABLE_SYNC)?;
        let out = self.write_synced(f);
        if let Err(e) =
            self.store
                .conn()
                .pragma_update(None, "synchronous", crate::store::DEFAULT_SYNC)
        {
            tracing::warn!(error = %e, "synchronous not set back to NORMAL");
        }
        out
    }

    fn write_synced<T>(&mut self, f: impl FnOnce(&Writer<'_>) -> Result<T>) -> Result<T> {
        let now = self.now();
        let tx = self
            .store
            .conn_mut()
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let writer = Writer {
            tx: &tx,
            actor: &self.actor,
            user: &self.user,
            now: &now,
        };
        let out = f(&writer)?;
        tx.commit()?;
        Ok(out)
    }

    // ----- partners -----

    pub fn add_partner(&mut self, new: &NewPartner) -> Result<Partner> {
        self.write(|w| w.insert_partner(new, Lifecycle::Onboarding))?;
        let partner = self.partner(&new.name)?;
        tracing::debug!(
            partner = %partner.name,
            kind = %partner.kind,
            endpoint = %partner.endpoint,
            owner = ?partner.owner,
            "partner registered"
        );
        Ok(partner)
    }

    pub fn partner(&self, name: &str) -> Result<Partner> {
        find_partner(self.store.conn(), name)?.ok_or_else(|| no_partner(name))
    }

    pub fn update_partner(&mut self, name: &str, change: &PartnerUpdate) -> Result<Partner> {
        if change.is_empty() {
            return Err(Error::invalid(
                "update",
                "nothing to change; give at least one field",
            ));
        }
        let new_name = self.write(|w| w.update_partner(name, change))?;
        self.partner(&new_name)
    }

    /// Removes the partner with its contract and credential. The credential's keyring item is
    /// deleted after the database change commits; a keyring failure then is logged, not
    /// returned, since the partner is already gone.
    pub fn remove_partner(&mut self, name: &str) -> Result<()> {
        let keyring_key = self.write(|w| {
            let id = w.partner_id(name)?;
            let children: Vec<String> = w
                .tx
                .prepare("SELECT name FROM partners WHERE parent_id = ?1 ORDER BY name")?
                .query_map([id], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            if !children.is_empty() {
                return Err(Error::Conflict(format!(
                    "partner {name:?} cannot be removed: {} depend on it ({}); remove or re-point them first",
                    children.len(),
                    quoted_list(&children)
                )));
            }
            let credential = w.credential_row(id)?;
            if let Some(row) = &credential {
                w.audit(
                    "credential.remove",
                    "credential",
                    name,
                    Some(&serde_json::json!({
                        "type": row.credential_type,
                        "label": row.label,
                        "reason": "partner removed",
                    })),
                )?;
            }
            w.tx.execute("DELETE FROM partner_search WHERE rowid = ?1", [id])?;
            w.tx.execute("DELETE FROM partners WHERE id = ?1", [id])?;
            w.audit("partner.remove", "partner", name, None::<&()>)?;
            Ok(credential.map(|row| row.keyring_key))
        })?;
        if let Some(key) = keyring_key {
            match self.credential_store().and_then(|s| Ok(s.delete(&key)?)) {
                Ok(_) => tracing::info!(partner = name, key, "removed the partner's keyring item"),
                Err(e) => tracing::warn!(
                    partner = name,
                    key,
                    error = %e,
                    "the partner is removed but its keyring item could not be deleted; delete it by hand"
                ),
            }
        }
        Ok(())
    }

    pub fn change_lifecycle(&mut self, name: &str, action: LifecycleAction) -> Result<Partner> {
        self.write(|w| {
            let (id, from): (i64, String) =
                w.tx.query_row(
                    "SELECT id, lifecycle FROM partners WHERE name = ?1",
                    [name],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?
                .ok_or_else(|| no_partner(name))?;
            let from = Lifecycle::parse_field("lifecycle", &from)?;
            let to = action.apply(from)?;
            w.tx.execute(
                "UPDATE partners SET lifecycle = ?1, updated_at = ?2 WHERE id = ?3",
                params![to.as_str(), w.now, id],
            )?;
            w.audit(
                &format!("partner.{action}"),
                "partner",
                name,
                Some(&serde_json::json!({"from": from, "to": to})),
            )
        })?;
        self.partner(name)
    }

    /// How many partners the registry holds, without reading them.
    pub fn partner_count(&self) -> Result<u32> {
        let n: i64 = self
            .store
            .conn()
            .query_row("SELECT count(*) FROM partners", [], |r| r.get(0))?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Partners matching every criterion of `filter`, ordered by name.
    pub fn list_partners(&self, filter: &PartnerFilter) -> Result<Vec<Partner>> {
        let (sql, args) = partner_query(filter);
        let conn = self.store.conn();
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(args.iter()), partner_from_row)?;
        rows.map(|r| r.map_err(Error::from).and_then(|r| r))
            .collect()
    }

    /// The ids of the partners matching every criterion of `filter` and, when given, whose
    /// current health state (as the catalogue's badges show it: `unknown` before the first
    /// check) is `state`; ordered by name like [`Registry::list_partners`]. The catalogue holds
    /// the records and asks only for ids, so narrowing 10,000 partners moves a few kilobytes.
    pub fn list_partner_ids(
        &self,
        filter: &PartnerFilter,
        state: Option<crate::health_state::HealthState>,
    ) -> Result<Vec<u32>> {
        let (sql, args) = partner_query_with(SELECT_PARTNER_ID, filter, state);
        let conn = self.store.conn();
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(args.iter()), |r| r.get::<_, u32>(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Records what a connection test found, as an audit row on the partner: whether it passed
    /// and which capabilities answered. [`Registry::capability_verifications`] reads it back.
    pub fn record_connection_test(
        &mut self,
        partner: &str,
        passed: bool,
        capabilities: &[(String, bool)],
    ) -> Result<()> {
        let detail = serde_json::json!({
            "passed": passed,
            "capabilities": capabilities
                .iter()
                .map(|(name, ok)| (name.clone(), serde_json::Value::Bool(*ok)))
                .collect::<serde_json::Map<_, _>>(),
        });
        self.write(|w| {
            w.partner_id(partner)?;
            w.audit(CONNECTION_TEST_ACTION, "partner", partner, Some(&detail))
        })
    }

    /// Each of the partner's declared capabilities with the last time a connection test
    /// verified it (`None`: never), then any other capability a test has verified (the probes a
    /// connector runs), from the rows [`Registry::record_connection_test`] wrote.
    pub fn capability_verifications(&self, partner: &str) -> Result<Vec<CapabilityVerification>> {
        let record = self.partner(partner)?;
        let conn = self.store.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT c.key, max(a.at) FROM audit_log a, json_each(a.detail, '$.capabilities') c
             WHERE a.entity = 'partner' AND a.subject = ?1 AND a.id >= ?2 AND a.id < ?3
               AND a.action = ?4 AND c.value = 1
             GROUP BY c.key",
        )?;
        // Tests recorded under the names it had before count too (see `partner_trail`).
        let mut verified = std::collections::BTreeMap::<String, String>::new();
        for (subject, lo, hi) in self.name_spans(partner)? {
            let rows = stmt.query_map(params![subject, lo, hi, CONNECTION_TEST_ACTION], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?;
            for row in rows {
                let (capability, at) = row?;
                let newest = verified.entry(capability).or_default();
                if at > *newest {
                    *newest = at;
                }
            }
        }
        let mut list: Vec<CapabilityVerification> = record
            .capabilities
            .into_iter()
            .map(|name| CapabilityVerification {
                last_verified: verified.remove(&name),
                name,
            })
            .collect();
        list.extend(
            verified
                .into_iter()
                .map(|(name, at)| CapabilityVerification {
                    name,
                    last_verified: Some(at),
                }),
        );
        Ok(list)
    }

    /// The query plan SQLite picks for `filter`; tests use it to prove indexes are used.
    pub fn explain_partner_query(&self, filter: &PartnerFilter) -> Result<Vec<String>> {
        let (sql, args) = partner_query(filter);
        let conn = self.store.conn();
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
        let rows = stmt.query_map(params_from_iter(args.iter()), |r| r.get::<_, String>(3))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn facets(&self) -> Result<Facets> {
        let conn = self.store.conn();
        let column = |sql: &str| -> Result<Vec<String>> {
            let mut stmt = conn.prepare_cached(sql)?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        };
        Ok(Facets {
            capabilities: column(
                "SELECT DISTINCT capability FROM partner_capabilities ORDER BY capability",
            )?,
            tags: column("SELECT DISTINCT tag FROM partner_tags ORDER BY tag")?,
            owners: column(
                "SELECT DISTINCT owner FROM partners WHERE owner IS NOT NULL ORDER BY owner",
            )?,
        })
    }

    // ----- contracts -----

    /// Sets (creates or replaces) the contract of `partner`.
    pub fn set_contract(&mut self, partner: &str, input: &ContractInput) -> Result<Contract> {
        self.write(|w| w.upsert_contract(partner, input))?;
        self.contract(partner)?
            .ok_or_else(|| Error::NotFound(format!("partner {partner:?} has no contract")))
    }

    pub fn contract(&self, partner: &str) -> Result<Option<Contract>> {
        let conn = self.store.conn();
        let id = partner_id(conn, partner)?;
        conn.query_row(
            &format!("{SELECT_CONTRACT} WHERE c.partner_id = ?1"),
            [id],
            contract_from_row,
        )
        .optional()?
        .transpose()
    }

    pub fn contracts(&self) -> Result<Vec<Contract>> {
        let conn = self.store.conn();
        let mut stmt = conn.prepare(&format!("{SELECT_CONTRACT} ORDER BY p.name"))?;
        let rows = stmt.query_map([], contract_from_row)?;
        rows.map(|r| r.map_err(Error::from).and_then(|r| r))
            .collect()
    }

    /// Sets the SLA terms of `partner`'s contract (audit `contract.sla_terms`) after
    /// checking them against the contract with [`crate::sla::SlaTerms::validate`]; returns the
    /// full terms reports are computed with. The partner must have a contract.
    pub fn set_sla_terms(
        &mut self,
        partner: &str,
        terms: &ContractSlaTerms,
    ) -> Result<crate::sla::SlaTerms> {
        self.write(|w| w.set_sla_terms(partner, terms))?;
        self.resolved_sla_terms(partner)?
            .ok_or_else(|| no_contract(partner))
    }

    /// The SLA terms stored with `partner`'s contract (the defaults until set); `None` when
    /// the partner has no contract.
    pub fn sla_terms(&self, partner: &str) -> Result<Option<ContractSlaTerms>> {
        let conn = self.store.conn();
        let id = partner_id(conn, partner)?;
        sla_terms_row(conn, id)
    }

    /// The full terms of `partner`'s contract (target, window, zone, rules, credits, fee and
    /// currency), as `SlaReport` takes them; `None` when the partner has no contract.
    pub fn resolved_sla_terms(&self, partner: &str) -> Result<Option<crate::sla::SlaTerms>> {
        let (Some(contract), Some(terms)) = (self.contract(partner)?, self.sla_terms(partner)?)
        else {
            return Ok(None);
        };
        terms.resolve(&contract_input(&contract)).map(Some)
    }

    /// Every contract's full terms with its partner's id and name, ordered by name, leaving
    /// out contracts whose target rounds to no SLA at all (0 %), as `sla::current_status`
    /// does: what the overview computes every partner's current SLA window from.
    pub fn all_resolved_sla_terms(&self) -> Result<Vec<(u32, String, crate::sla::SlaTerms)>> {
        let conn = self.store.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT p.name, p.id FROM contracts c JOIN partners p ON p.id = c.partner_id",
        )?;
        let ids = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?)))?
            .collect::<rusqlite::Result<std::collections::HashMap<String, u32>>>()?;
        let mut all = Vec::new();
        for contract in self.contracts()? {
            let Some(&id) = ids.get(&contract.partner) else {
                continue;
            };
            if crate::sla_terms::target_percent(contract.sla_target)? == crate::sla::Percent::ZERO {
                continue;
            }
            if let Some(terms) = sla_terms_row(conn, i64::from(id))? {
                let resolved = terms.resolve(&contract_input(&contract))?;
                all.push((id, contract.partner, resolved));
            }
        }
        Ok(all)
    }

    /// Contracts of partners not offboarded that have not ended and whose notice deadline
    /// falls within `within_days` of today (or has passed), soonest deadline first.
    pub fn expiring_contracts(&self, within_days: u32) -> Result<Vec<ExpiringContract>> {
        let today = self.clock.today();
        let horizon = today + chrono::Days::new(u64::from(within_days));
        let conn = self.store.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT p.name, p.tier, p.owner, c.end_date, c.notice_days, c.auto_renew,
                    date(c.end_date, printf('-%d days', c.notice_days)) AS deadline
             FROM contracts c JOIN partners p ON p.id = c.partner_id
             WHERE p.lifecycle <> 'offboarded' AND c.end_date >= ?1 AND deadline <= ?2
             ORDER BY deadline, p.name",
        )?;
        let rows = stmt.query_map(params![day(today), day(horizon)], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, u32>(4)?,
                r.get::<_, bool>(5)?,
            ))
        })?;
        rows.map(|row| {
            let (partner, tier, owner, end, notice_days, auto_renew) = row?;
            let end = parse_day("end", &end)?;
            let notice_deadline = notice_deadline(end, notice_days);
            Ok(ExpiringContract {
                partner,
                tier: Tier::parse_field("tier", &tier)?,
                owner,
                end,
                notice_deadline,
                days_left: (end - today).num_days(),
                days_to_notice_deadline: (notice_deadline - today).num_days(),
                auto_renew,
            })
        })
        .collect()
    }

    // ----- credentials -----

    /// Stores `credential` as the partner's credential, replacing any it had (audit
    /// `credential.set`). `expires_on` (YYYY-MM-DD) is when the platform stops accepting it.
    pub fn set_credential(
        &mut self,
        partner: &str,
        credential: &Credential,
        expires_on: Option<&str>,
    ) -> Result<CredentialMeta> {
        self.store_credential(partner, credential, expires_on, CredentialChange::Set)
    }

    /// Replaces the partner's credential with `new`, but only once `verify` accepts it (the
    /// caller passes a connector's connection test). If verification fails, the old
    /// credential stays and the error says why. Audit `credential.rotate`.
    pub fn rotate_credential(
        &mut self,
        partner: &str,
        new: &Credential,
        expires_on: Option<&str>,
        verify: impl FnOnce(&Credential) -> std::result::Result<(), String>,
    ) -> Result<CredentialMeta> {
        let Some(old) = self.credential_meta(partner)? else {
            return Err(Error::NotFound(format!(
                "partner {partner:?} has no credential to rotate; set one first"
            )));
        };
        self.check_credential(partner, new, expires_on)?;
        if let Err(why) = verify(new) {
            tracing::warn!(partner, credential_type = %new.credential_type(), "new credential failed verification; keeping the old one");
            return Err(Error::invalid(
                "credential",
                format!(
                    "the new {} credential failed verification, so the old {} one stays in place: {why}",
                    new.credential_type(),
                    old.credential_type
                ),
            ));
        }
        self.store_credential(partner, new, expires_on, CredentialChange::Rotate)
    }

    /// Checks everything about a new credential that can be checked without storing it.
    fn check_credential(
        &self,
        partner: &str,
        credential: &Credential,
        expires_on: Option<&str>,
    ) -> Result<()> {
        let kind = self.partner(partner)?.kind;
        credential
            .credential_type()
            .check_fits("credential_type", kind)?;
        credential.validate()?;
        if let Some(text) = expires_on {
            parse_expiry("expires_on", text, self.clock.today())?;
        }
        Ok(())
    }

    fn store_credential(
        &mut self,
        partner: &str,
        credential: &Credential,
        expires_on: Option<&str>,
        change: CredentialChange,
    ) -> Result<CredentialMeta> {
        self.check_credential(partner, credential, expires_on)?;
        let secrets = self.credential_store()?;
        let partner_id = partner_id(self.store.conn(), partner)?;
        // The secret goes to a new item first; the row points at it only once it is whole.
        let key = new_keyring_key(partner_id);
        secrets.set(&key, credential)?;
        let label = credential.label();
        let credential_type = credential.credential_type();
        let written = self.write(|w| {
            let id = w.partner_id(partner)?;
            let kind: String =
                w.tx.query_row("SELECT kind FROM partners WHERE id = ?1", [id], |r| {
                    r.get(0)
                })?;
            credential_type
                .check_fits("credential_type", PartnerKind::parse_field("kind", &kind)?)?;
            let previous = w.credential_row(id)?;
            w.tx.execute(
                "INSERT INTO credentials_meta (partner_id, credential_type, label, expires_on,
                                               keyring_key, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
                 ON CONFLICT (partner_id) DO UPDATE SET
                    credential_type = excluded.credential_type, label = excluded.label,
                    expires_on = excluded.expires_on, keyring_key = excluded.keyring_key,
                    updated_at = excluded.updated_at",
                params![id, credential_type.as_str(), label, expires_on, key, w.now],
            )?;
            let mut detail = serde_json::json!({
                "type": credential_type,
                "label": label,
                "expires_on": expires_on,
            });
            if let Some(prev) = &previous {
                detail["replaces"] = serde_json::json!({
                    "type": prev.credential_type,
                    "label": prev.label,
                });
            }
            if change == CredentialChange::Rotate {
                detail["verified"] = serde_json::Value::Bool(true);
            }
            w.audit(change.action(), "credential", partner, Some(&detail))?;
            Ok(previous.map(|p| p.keyring_key))
        });
        let previous_key = match written {
            Ok(previous_key) => previous_key,
            Err(e) => {
                if let Err(cleanup) = secrets.delete(&key) {
                    tracing::warn!(partner, key, error = %cleanup, "could not delete the keyring item of a credential that was not recorded");
                }
                return Err(e);
            }
        };
        if let Some(old) = previous_key {
            if let Err(e) = secrets.delete(&old) {
                tracing::warn!(partner, key = old, error = %e, "the old credential's keyring item could not be deleted; delete it by hand");
            }
        }
        tracing::info!(partner, %credential_type, action = change.action(), backend = secrets.describe(), "credential stored");
        self.credential_meta(partner)?
            .ok_or_else(|| Error::NotFound(format!("partner {partner:?} has no credential")))
    }

    /// The partner's credential with its secrets, read from the keyring.
    pub fn credential(&self, partner: &str) -> Result<Credential> {
        let id = partner_id(self.store.conn(), partner)?;
        let Some(row) = credential_row(self.store.conn(), id)? else {
            return Err(no_credential(partner));
        };
        self.credential_store()?.get(&row.keyring_key)?.ok_or_else(|| {
            Error::NotFound(format!(
                "the keyring has no item {} for partner {partner:?}'s credential (was it deleted outside Ecosystem?); set the credential again",
                row.keyring_key
            ))
        })
    }

    /// What is recorded about the partner's credential (never the secret), if it has one.
    pub fn credential_meta(&self, partner: &str) -> Result<Option<CredentialMeta>> {
        let conn = self.store.conn();
        let id = partner_id(conn, partner)?;
        let mut stmt =
            conn.prepare_cached(&format!("{SELECT_CREDENTIAL} WHERE m.partner_id = ?1"))?;
        stmt.query_row([id], credential_meta_from_row)
            .optional()?
            .transpose()
    }

    /// Every recorded credential, by partner name.
    pub fn credentials(&self) -> Result<Vec<CredentialMeta>> {
        let conn = self.store.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "{SELECT_CREDENTIAL} ORDER BY p.name COLLATE NOCASE, p.name"
        ))?;
        let rows = stmt.query_map([], credential_meta_from_row)?;
        rows.map(|r| r.map_err(Error::from).and_then(|r| r))
            .collect()
    }

    /// Credentials that expire within `within_days` of today, or have expired, soonest first.
    pub fn expiring_credentials(&self, within_days: u32) -> Result<Vec<CredentialMeta>> {
        let horizon = self.clock.today() + chrono::Days::new(u64::from(within_days));
        let conn = self.store.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "{SELECT_CREDENTIAL} WHERE m.expires_on <= ?1 ORDER BY m.expires_on, p.name"
        ))?;
        let rows = stmt.query_map([day(horizon)], credential_meta_from_row)?;
        rows.map(|r| r.map_err(Error::from).and_then(|r| r))
            .collect()
    }

    /// Removes the partner's credential: the keyring item first (so a failure there changes
    /// nothing and can be retried), then the row, with audit `credential.remove`.
    pub fn remove_credential(&mut self, partner: &str) -> Result<()> {
        let id = partner_id(self.store.conn(), partner)?;
        let Some(row) = credential_row(self.store.conn(), id)? else {
            return Err(no_credential(partner));
        };
        let secrets = self.credential_store()?;
        secrets.delete(&row.keyring_key)?;
        let raced = self.write(|w| {
            let id = w.partner_id(partner)?;
            let current = w
                .credential_row(id)?
                .ok_or_else(|| no_credential(partner))?;
            w.tx.execute("DELETE FROM credentials_meta WHERE partner_id = ?1", [id])?;
            w.audit(
                "credential.remove",
                "credential",
                partner,
                Some(&serde_json::json!({
                    "type": current.credential_type,
                    "label": current.label,
                })),
            )?;
            // Set again by someone else between our read and this transaction.
            Ok((current.keyring_key != row.keyring_key).then_some(current.keyring_key))
        })?;
        if let Some(key) = raced {
            secrets.delete(&key)?;
        }
        tracing::info!(partner, backend = secrets.describe(), "credential removed");
        Ok(())
    }

    // ----- custom checks -----

    /// Stores the check definition of an `http` partner after validating it; `source` names
    /// it in errors (usually the file it came from).
    pub fn set_custom_check(
        &mut self,
        partner: &str,
        source: &str,
        definition: &str,
    ) -> Result<crate::custom_check::CustomCheck> {
        let check = crate::custom_check::parse(source, definition)?;
        self.write(|w| w.set_custom_check(partner, source, definition))?;
        Ok(check)
    }

    /// The stored check of a partner: where it came from and its text.
    pub fn custom_check(&self, partner: &str) -> Result<Option<StoredCheck>> {
        let conn = self.store.conn();
        let id = partner_id(conn, partner)?;
        Ok(conn
            .query_row(
                "SELECT source_name, definition FROM partner_checks WHERE partner_id = ?1",
                [id],
                |r| {
                    Ok(StoredCheck {
                        source: r.get(0)?,
                        definition: r.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    pub fn remove_custom_check(&mut self, partner: &str) -> Result<()> {
        self.write(|w| {
            let id = w.partner_id(partner)?;
            if w.tx
                .execute("DELETE FROM partner_checks WHERE partner_id = ?1", [id])?
                == 0
            {
                return Err(Error::NotFound(format!(
                    "partner {partner:?} has no check definition"
                )));
            }
            w.audit("check.remove", "partner", partner, None::<&()>)
        })
    }

    // ----- pause and resume -----

    /// Pauses a partner: its shown health becomes `paused` (a transition whose reason says who
    /// paused it and why), the poller stops checking it (see `ecosystem_connectors::targets`),
    /// and the audit log records `partner.pause`, all in one transaction. Pausing a partner that
    /// is already paused is refused (a conflict: nothing is written).
    pub fn pause_partner(
        &mut self,
        name: &str,
        reason: Option<&str>,
    ) -> Result<Option<crate::health_store::PartnerTransition>> {
        self.set_paused(name, true, reason)
    }

    /// Ends a partner's pause: its shown health becomes what its checks say (or maintenance,
    /// while a window is open), with audit `partner.resume`, in one transaction. Resuming a
    /// partner that is not paused is refused.
    pub fn resume_partner(
        &mut self,
        name: &str,
        reason: Option<&str>,
    ) -> Result<Option<crate::health_store::PartnerTransition>> {
        self.set_paused(name, false, reason)
    }

    /// The ids of the partners that are paused.
    pub fn paused_partner_ids(&self) -> Result<std::collections::BTreeSet<u32>> {
        let conn = self.store.conn();
        let mut stmt =
            conn.prepare_cached("SELECT partner_id FROM health_current WHERE paused = 1")?;
        let ids = stmt.query_map([], |r| r.get(0))?;
        Ok(ids.collect::<rusqlite::Result<_>>()?)
    }

    /// True when the partner is paused.
    pub fn is_paused(&self, name: &str) -> Result<bool> {
        let id = self.partner(name)?.id;
        Ok(self.paused_partner_ids()?.contains(&id))
    }

    fn set_paused(
        &mut self,
        name: &str,
        paused: bool,
        reason: Option<&str>,
    ) -> Result<Option<crate::health_store::PartnerTransition>> {
        /// The reason recorded with a pause or resume transition: who did it and why ("paused by
        /// alice: VPN change"; "resumed by alice; checks say healthy").
        fn pause_reason(
            actor: &str,
            paused: bool,
            reason: Option<&str>,
            default: String,
        ) -> String {
            let who = if paused {
                format!("paused by {actor}")
            } else {
                format!("resumed by {actor}")
            };
            let who = match reason {
                Some(r) => format!("{who}: {r}"),
                None => who,
            };
            match default.strip_prefix(if paused { "paused" } else { "resumed" }) {
                Some(rest) => format!("{who}{rest}"),
                None => format!("{who}; {default}"),
            }
        }

        let reason = reason.map(str::trim);
        if let Some(r) = reason {
            if r.is_empty() || r.chars().count() > 500 || r.chars().any(char::is_control) {
                return Err(Error::invalid(
                    "reason",
                    "give one line of text, at most 500 characters",
                ));
            }
        }
        let at = self.clock.now();
        let actor = self.user.clone();
        self.write(|w| {
            let id = w.partner_id(name)?;
            let id = u32::try_from(id).map_err(|_| no_partner(name))?;
            let (was, transition) =
                crate::health_store::set_paused_in(w.tx, id, paused, at, |default| {
                    pause_reason(&actor, paused, reason, default)
                })?;
            if was == paused {
                return Err(Error::Conflict(if paused {
                    format!(
                        "partner {name:?} is already paused; `ecosystem partner resume` ends it"
                    )
                } else {
                    format!("partner {name:?} is not paused")
                }));
            }
            let detail = serde_json::json!({
                "reason": reason,
                "from": transition.as_ref().map(|t| t.transition.from),
                "to": transition.as_ref().map(|t| t.transition.to),
            });
            let action = if paused {
                "partner.pause"
            } else {
                "partner.resume"
            };
            w.audit(action, "partner", name, Some(&detail))?;
            Ok(transition)
        })
    }

    // ----- settings and audit -----

    pub fn settings(&self) -> Result<Vec<(String, String)>> {
        let conn = self.store.conn();
        let mut stmt = conn.prepare("SELECT key, value FROM settings ORDER BY key")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .store
            .conn()
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    pub fn set_setting(&mut self, key: &str, value: &str) -> Result<()> {
        crate::workspace::validate_setting(key, value)?;
        self.write(|w| w.set_setting(key, value))
    }

    /// A partner's audit trail, newest first: the entries about it under its current name and
    /// under each name it had before (followed back through the `renamed_from` of its renames),
    /// and none about an earlier partner that had one of those names.
    pub fn partner_trail(&self, name: &str, limit: u32) -> Result<Vec<AuditEntry>> {
        let spans = self.name_spans(name)?;
        let sql = format!(
            "WITH span(subject, lo, hi) AS (VALUES {})
             SELECT a.id, a.at, a.actor, a.action, a.entity, a.subject, a.detail
             FROM span JOIN audit_log a ON a.subject = span.subject AND a.id >= span.lo AND a.id < span.hi
             ORDER BY a.id DESC LIMIT ?",
            vec!["(?, ?, ?)"; spans.len()].join(", ")
        );
        let conn = self.store.conn();
        let mut stmt = conn.prepare(&sql)?;
        let mut args: Vec<rusqlite::types::Value> = Vec::with_capacity(spans.len() * 3 + 1);
        for (subject, lo, hi) in spans {
            args.extend([subject.into(), lo.into(), hi.into()]);
        }
        args.push(i64::from(limit).into());
        let rows = stmt.query_map(params_from_iter(args), crate::audit_view::entry)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The names the partner called `name` now has had, newest first, each with the span of
    /// audit ids over which it had it (`lo` inclusive, `hi` exclusive): its current name since
    /// it was added or renamed to it, then each earlier name back to its `partner.add`. With no
    /// such row (a log older than `renamed_from`), the name's whole past.
    fn name_spans(&self, name: &str) -> Result<Vec<(String, i64, i64)>> {
        /// Renames followed back, at most: a bound, not a limit anyone meets.
        const MAX_NAMES: usize = 1_000;
        let conn = self.store.conn();
        let mut start = conn.prepare_cached(
            "SELECT id, json_extract(detail, '$.renamed_from') FROM audit_log
             WHERE entity = 'partner' AND subject = ?1 AND id < ?2
               AND (action = 'partner.add'
                    OR (action = 'partner.update' AND json_extract(detail, '$.renamed_from') IS NOT NULL))
             ORDER BY id DESC LIMIT 1",
        )?;
        let mut spans = Vec::new();
        let (mut subject, mut hi) = (name.to_string(), i64::MAX);
        while spans.len() < MAX_NAMES {
            let found: Option<(i64, Option<String>)> = start
                .query_row(params![subject, hi], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            match found {
                Some((lo, Some(before))) => {
                    spans.push((std::mem::replace(&mut subject, before), lo, hi));
                    hi = lo;
                }
                Some((lo, None)) => {
                    spans.push((subject, lo, hi));
                    break;
                }
                None => {
                    spans.push((subject, 0, hi));
                    break;
                }
            }
        }
        Ok(spans)
    }

    /// The newest audit-log rows first, optionally for one subject only.
    pub fn audit_log(&self, subject: Option<&str>, limit: u32) -> Result<Vec<AuditEntry>> {
        let conn = self.store.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT id, at, actor, action, entity, subject, detail FROM audit_log
             WHERE ?1 IS NULL OR subject = ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![subject, limit], crate::audit_view::entry)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// How a registry change is committed: the WAL synced before the commit returns.
pub const DURABLE_SYNC: &str = "FULL";

/// The audit action of a recorded connection test.
const CONNECTION_TEST_ACTION: &str = "partner.connection_test";

/// One capability of a partner and when a connection test last verified it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CapabilityVerification {
    pub name: String,
    /// When a connection test last found it working (RFC 3339); `None`: never.
    pub last_verified: Option<String>,
}

/// A custom HTTP partner's stored check definition.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredCheck {
    /// Where the definition came from (a file name), for messages.
    pub source: String,
    pub definition: String,
}

/// Write operations inside one transaction; shared by single changes and workspace import.
pub(crate) struct Writer<'a> {
    pub tx: &'a Transaction<'a>,
    /// Who and where, as the audit log records it.
    pub actor: &'a str,
    /// The person alone, for texts that name them.
    pub user: &'a str,
    pub now: &'a str,
}

impl Writer<'_> {
    pub fn audit<D: Serialize + ?Sized>(
        &self,
        action: &str,
        entity: &str,
        subject: &str,
        detail: Option<&D>,
    ) -> Result<()> {
        let detail = detail
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| Error::invalid("audit", e.to_string()))?;
        self.tx.execute(
            "INSERT INTO audit_log (at, actor, action, entity, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![self.now, self.actor, action, entity, subject, detail],
        )?;
        Ok(())
    }

    pub fn partner_id(&self, name: &str) -> Result<i64> {
        partner_id(self.tx, name)
    }

    fn credential_row(&self, partner_id: i64) -> Result<Option<CredentialRow>> {
        credential_row(self.tx, partner_id)
    }

    pub fn insert_partner(&self, new: &NewPartner, lifecycle: Lifecycle) -> Result<()> {
        validate_new_partner(new)?;
        if partner_exists(self.tx, &new.name)? {
            return Err(Error::Conflict(format!(
                "name: a partner named {:?} already exists",
                new.name
            )));
        }
        let parent_id = match &new.depends_on {
            Some(parent) if *parent == new.name => {
                return Err(Error::Conflict(format!(
                    "depends_on: partner {parent:?} cannot depend on itself"
                )))
            }
            Some(parent) => Some(self.parent_id(parent)?),
            None => None,
        };
        self.tx.execute(
            "INSERT INTO partners (name, kind, endpoint, tier, owner, lifecycle, parent_id,
                                   check_interval_secs, check_timeout_secs, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
            params![
                new.name,
                new.kind.as_str(),
                new.endpoint,
                new.tier.as_str(),
                new.owner,
                lifecycle.as_str(),
                parent_id,
                new.health_check.interval_secs,
                new.health_check.timeout_secs,
                self.now
            ],
        )?;
        let id = self.tx.last_insert_rowid();
        self.replace_labels(id, "partner_capabilities", "capability", &new.capabilities)?;
        self.replace_labels(id, "partner_tags", "tag", &new.tags)?;
        self.reindex(id)?;
        self.audit("partner.add", "partner", &new.name, Some(new))
    }

    /// Applies `change` to partner `name`; returns its (possibly new) name.
    pub fn update_partner(&self, name: &str, change: &PartnerUpdate) -> Result<String> {
        let id = self.partner_id(name)?;
        let current = find_partner(self.tx, name)?.ok_or_else(|| no_partner(name))?;
        let new_name = change.name.clone().unwrap_or_else(|| name.to_string());
        let merged = NewPartner {
            name: new_name.clone(),
            kind: change.kind.unwrap_or(current.kind),
            endpoint: change.endpoint.clone().unwrap_or(current.endpoint),
            tier: change.tier.unwrap_or(current.tier),
            owner: change.owner.clone().unwrap_or(current.owner),
            capabilities: change.capabilities.clone().unwrap_or(current.capabilities),
            tags: change.tags.clone().unwrap_or(current.tags),
            depends_on: change.depends_on.clone().unwrap_or(current.depends_on),
            health_check: HealthCheck {
                interval_secs: change
                    .interval_secs
                    .unwrap_or(current.health_check.interval_secs),
                timeout_secs: change
                    .timeout_secs
                    .unwrap_or(current.health_check.timeout_secs),
            },
        };
        validate_new_partner(&merged)?;
        if new_name != name && partner_exists(self.tx, &new_name)? {
            return Err(Error::Conflict(format!(
                "name: a partner named {new_name:?} already exists"
            )));
        }
        let parent_id = match &merged.depends_on {
            Some(parent) => {
                let pid = self.parent_id(parent)?;
                self.refuse_cycle(id, &merged.name, pid, parent)?;
                Some(pid)
            }
            None => None,
        };
        self.tx.execute(
            "UPDATE partners SET name = ?1, kind = ?2, endpoint = ?3, tier = ?4, owner = ?5,
                    parent_id = ?6, check_interval_secs = ?7, check_timeout_secs = ?8, updated_at = ?9
             WHERE id = ?10",
            params![
                merged.name,
                merged.kind.as_str(),
                merged.endpoint,
                merged.tier.as_str(),
                merged.owner,
                parent_id,
                merged.health_check.interval_secs,
                merged.health_check.timeout_secs,
                self.now,
                id
            ],
        )?;
        self.replace_labels(
            id,
            "partner_capabilities",
            "capability",
            &merged.capabilities,
        )?;
        self.replace_labels(id, "partner_tags", "tag", &merged.tags)?;
        self.reindex(id)?;
        let mut detail =
            serde_json::to_value(change).map_err(|e| Error::invalid("audit", e.to_string()))?;
        if new_name != name {
            // The subject is the new name; the old one keeps the trail followable.
            detail["renamed_from"] = serde_json::Value::from(name);
        }
        self.audit("partner.update", "partner", &new_name, Some(&detail))?;
        Ok(new_name)
    }

    /// Overwrites every field of an existing partner (workspace import), keeping its id.
    pub fn replace_partner(&self, new: &NewPartner, lifecycle: Lifecycle) -> Result<()> {
        let change = PartnerUpdate {
            name: None,
            kind: Some(new.kind),
            endpoint: Some(new.endpoint.clone()),
            tier: Some(new.tier),
            owner: Some(new.owner.clone()),
            capabilities: Some(new.capabilities.clone()),
            tags: Some(new.tags.clone()),
            depends_on: Some(new.depends_on.clone()),
            interval_secs: Some(new.health_check.interval_secs),
            timeout_secs: Some(new.health_check.timeout_secs),
        };
        let from: String = self.tx.query_row(
            "SELECT lifecycle FROM partners WHERE name = ?1",
            [&new.name],
            |r| r.get(0),
        )?;
        self.update_partner(&new.name, &change)?;
        if from != lifecycle.as_str() {
            self.tx.execute(
                "UPDATE partners SET lifecycle = ?1 WHERE name = ?2",
                params![lifecycle.as_str(), new.name],
            )?;
            self.audit(
                "partner.lifecycle",
                "partner",
                &new.name,
                Some(&serde_json::json!({"from": from, "to": lifecycle})),
            )?;
        }
        Ok(())
    }

    fn parent_id(&self, parent: &str) -> Result<i64> {
        partner_id(self.tx, parent).map_err(|_| {
            Error::NotFound(format!(
                "depends_on: no partner named {parent:?} to depend on"
            ))
        })
    }

    /// Refuses to make `id` depend on `parent_id` if `id` is already among its ancestors.
    fn refuse_cycle(&self, id: i64, name: &str, parent_id: i64, parent: &str) -> Result<()> {
        let chain: Vec<(i64, String)> = self
            .tx
            .prepare(
                "WITH RECURSIVE up(id, depth) AS (
                     SELECT ?1, 0
                     UNION ALL
                     SELECT p.parent_id, up.depth + 1 FROM partners p JOIN up ON p.id = up.id
                     WHERE p.parent_id IS NOT NULL AND up.depth < 10000)
                 SELECT up.id, p.name FROM up JOIN partners p ON p.id = up.id ORDER BY up.depth",
            )?
            .query_map([parent_id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        if let Some(pos) = chain.iter().position(|(i, _)| *i == id) {
            let path: Vec<String> = std::iter::once(name.to_string())
                .chain(chain[..=pos].iter().map(|(_, n)| n.clone()))
                .collect();
            return Err(Error::Conflict(format!(
                "depends_on: making {name:?} depend on {parent:?} would create a dependency cycle ({})",
                path.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(" -> ")
            )));
        }
        Ok(())
    }

    fn replace_labels(&self, id: i64, table: &str, column: &str, labels: &[String]) -> Result<()> {
        self.tx
            .execute(&format!("DELETE FROM {table} WHERE partner_id = ?1"), [id])?;
        let mut stmt = self.tx.prepare_cached(&format!(
            "INSERT INTO {table} ({column}, partner_id, position) VALUES (?1, ?2, ?3)"
        ))?;
        for (pos, label) in labels.iter().enumerate() {
            stmt.execute(params![label, id, pos as i64])?;
        }
        Ok(())
    }

    /// Rewrites the partner's row in the free-text index.
    fn reindex(&self, id: i64) -> Result<()> {
        self.tx
            .execute("DELETE FROM partner_search WHERE rowid = ?1", [id])?;
        self.tx.execute(
            "INSERT INTO partner_search (rowid, name, owner, endpoint, capabilities, tags)
             SELECT p.id, p.name, coalesce(p.owner, ''), p.endpoint,
                    coalesce((SELECT group_concat(capability, ' ') FROM partner_capabilities WHERE partner_id = p.id), ''),
                    coalesce((SELECT group_concat(tag, ' ') FROM partner_tags WHERE partner_id = p.id), '')
             FROM partners p WHERE p.id = ?1",
            [id],
        )?;
        Ok(())
    }

    pub fn upsert_contract(&self, partner: &str, input: &ContractInput) -> Result<()> {
        let id = self.partner_id(partner)?;
        let (value_minor, currency) = validate_contract(input)?;
        let existed = self
            .tx
            .query_row(
                "SELECT 1 FROM contracts WHERE partner_id = ?1",
                [id],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        self.tx.execute(
            "INSERT INTO contracts (partner_id, start_date, end_date, notice_days, auto_renew, sla_target,
                                    value_minor, currency, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)
             ON CONFLICT (partner_id) DO UPDATE SET
                start_date = excluded.start_date, end_date = excluded.end_date,
                notice_days = excluded.notice_days, auto_renew = excluded.auto_renew,
                sla_target = excluded.sla_target, value_minor = excluded.value_minor,
                currency = excluded.currency, updated_at = excluded.updated_at",
            params![
                id,
                day(input.start),
                day(input.end),
                input.notice_days,
                input.auto_renew,
                input.sla_target,
                value_minor,
                currency,
                self.now
            ],
        )?;
        let action = if existed {
            "contract.update"
        } else {
            "contract.set"
        };
        self.audit(action, "contract", partner, Some(input))
    }

    /// Stores the SLA terms of `partner`'s contract, checked against the contract as it is in
    /// this transaction; writes nothing (and no audit row) when they are already stored.
    pub fn set_sla_terms(&self, partner: &str, terms: &ContractSlaTerms) -> Result<()> {
        let id = self.partner_id(partner)?;
        let contract = self
            .tx
            .query_row(
                &format!("{SELECT_CONTRACT} WHERE c.partner_id = ?1"),
                [id],
                contract_from_row,
            )
            .optional()?
            .transpose()?
            .ok_or_else(|| no_contract(partner))?;
        for (i, tier) in terms.credits.iter().enumerate() {
            crate::sla_terms::check_credit(&format!("credits[{i}]"), tier)?;
        }
        terms.resolve(&contract_input(&contract))?;
        if sla_terms_row(self.tx, id)?.as_ref() == Some(terms) {
            return Ok(());
        }
        let credits = serde_json::to_string(&terms.credits)
            .map_err(|e| Error::invalid("credits", e.to_string()))?;
        self.tx.execute(
            "INSERT INTO contract_sla_terms (contract_id, window_kind, time_zone, maintenance,
                    degraded, unknown, paused, credits, fee_minor, updated_at)
             SELECT id, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10 FROM contracts WHERE partner_id = ?1
             ON CONFLICT (contract_id) DO UPDATE SET window_kind = excluded.window_kind,
                time_zone = excluded.time_zone, maintenance = excluded.maintenance,
                degraded = excluded.degraded, unknown = excluded.unknown,
                paused = excluded.paused, credits = excluded.credits,
                fee_minor = excluded.fee_minor, updated_at = excluded.updated_at",
            params![
                id,
                terms.window.as_str(),
                terms.time_zone.name(),
                sla_terms::time_rule_word(terms.rules.maintenance),
                sla_terms::degraded_rule_word(terms.rules.degraded),
                sla_terms::time_rule_word(terms.rules.unknown),
                sla_terms::paused_rule_word(terms.rules.paused),
                credits,
                terms.fee_minor,
                self.now
            ],
        )?;
        self.audit("contract.sla_terms", "contract", partner, Some(terms))
    }

    pub fn set_custom_check(&self, partner: &str, source: &str, definition: &str) -> Result<()> {
        let id = self.partner_id(partner)?;
        let kind: String =
            self.tx
                .query_row("SELECT kind FROM partners WHERE id = ?1", [id], |r| {
                    r.get(0)
                })?;
        if kind != PartnerKind::Http.as_str() {
            return Err(Error::Conflict(format!(
                "check: partner {partner:?} is a {kind} partner, checked by its built-in connector; check files are for http partners"
            )));
        }
        self.tx.execute(
            "INSERT INTO partner_checks (partner_id, source_name, definition, updated_at)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (partner_id) DO UPDATE SET source_name = excluded.source_name,
                definition = excluded.definition, updated_at = excluded.updated_at",
            params![id, source, definition, self.now],
        )?;
        self.audit(
            "check.set",
            "partner",
            partner,
            Some(&serde_json::json!({ "source": source })),
        )
    }

    pub fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.tx.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        self.audit(
            "setting.set",
            "setting",
            key,
            Some(&serde_json::json!({ "value": value })),
        )
    }
}

pub(crate) fn validate_new_partner(new: &NewPartner) -> Result<()> {
    validate::name("name", &new.name)?;
    validate::endpoint("endpoint", &new.endpoint)?;
    if let Some(owner) = &new.owner {
        validate::text("owner", owner, validate::MAX_NAME_CHARS)?;
    }
    if let Some(parent) = &new.depends_on {
        validate::name("depends_on", parent)?;
    }
    validate::labels("capability", &new.capabilities)?;
    validate::labels("tag", &new.tags)?;
    validate::health_check(&new.health_check)
}

/// Checks a contract; returns its value in minor units and its currency.
pub(crate) fn validate_contract(input: &ContractInput) -> Result<(Option<i64>, Option<String>)> {
    if input.end <= input.start {
        return Err(Error::invalid(
            "end",
            format!("{} is not after the start date {}", input.end, input.start),
        ));
    }
    if !(input.sla_target.is_finite() && input.sla_target > 0.0 && input.sla_target <= 100.0) {
        return Err(Error::invalid(
            "sla_target",
            format!(
                "{} is not a percentage above 0 and at most 100",
                input.sla_target
            ),
        ));
    }
    if input.notice_days > 3650 {
        return Err(Error::invalid(
            "notice_days",
            format!("{} days is more than ten years", input.notice_days),
        ));
    }
    match (&input.value, &input.currency) {
        (Some(v), Some(c)) => Ok((
            Some(money::parse_amount("value", v)?),
            Some(money::parse_currency("currency", c)?),
        )),
        (None, None) => Ok((None, None)),
        (Some(_), None) => Err(Error::invalid(
            "currency",
            "is required when a value is given",
        )),
        (None, Some(_)) => Err(Error::invalid(
            "value",
            "is required when a currency is given",
        )),
    }
}

pub fn notice_deadline(end: NaiveDate, notice_days: u32) -> NaiveDate {
    end - chrono::Days::new(u64::from(notice_days))
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A date the database holds (`YYYY-MM-DD`); a bad one is named as unreadable, not as input.
pub(crate) fn parse_day(field: &str, s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| Error::invalid(field, format!("stored date {s:?} is unreadable: {e}")))
}

/// Which audit action a stored credential is recorded as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CredentialChange {
    Set,
    Rotate,
}

impl CredentialChange {
    fn action(self) -> &'static str {
        match self {
            CredentialChange::Set => "credential.set",
            CredentialChange::Rotate => "credential.rotate",
        }
    }
}

const SELECT_CREDENTIAL: &str = "
SELECT p.name, m.credential_type, m.label, m.expires_on, m.updated_at
FROM credentials_meta m JOIN partners p ON p.id = m.partner_id";

/// The parts of a credential row the registry itself needs.
struct CredentialRow {
    credential_type: String,
    label: Option<String>,
    keyring_key: String,
}

fn credential_row(conn: &Connection, partner_id: i64) -> Result<Option<CredentialRow>> {
    Ok(conn
        .query_row(
            "SELECT credential_type, label, keyring_key FROM credentials_meta WHERE partner_id = ?1",
            [partner_id],
            |r| {
                Ok(CredentialRow {
                    credential_type: r.get(0)?,
                    label: r.get(1)?,
                    keyring_key: r.get(2)?,
                })
            },
        )
        .optional()?)
}

fn credential_meta_from_row(r: &Row<'_>) -> RowResult<CredentialMeta> {
    let credential_type: String = r.get(1)?;
    let meta = CredentialMeta {
        partner: r.get(0)?,
        credential_type: CredentialType::Bearer,
        label: r.get(2)?,
        expires_on: r.get(3)?,
        updated_at: r.get(4)?,
    };
    Ok(
        CredentialType::parse_field("credential_type", &credential_type).map(|credential_type| {
            CredentialMeta {
                credential_type,
                ..meta
            }
        }),
    )
}

fn no_credential(partner: &str) -> Error {
    Error::NotFound(format!(
        "partner {partner:?} has no credential; set one with `ecosystem credential set`"
    ))
}

fn no_partner(name: &str) -> Error {
    Error::NotFound(format!("no partner named {name:?}"))
}

fn quoted_list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn partner_exists(conn: &Connection, name: &str) -> Result<bool> {
    Ok(conn
        .query_row("SELECT 1 FROM partners WHERE name = ?1", [name], |_| Ok(()))
        .optional()?
        .is_some())
}

fn partner_id(conn: &Connection, name: &str) -> Result<i64> {
    conn.query_row("SELECT id FROM partners WHERE name = ?1", [name], |r| {
        r.get(0)
    })
    .optional()?
    .ok_or_else(|| no_partner(name))
}

fn find_partner(conn: &Connection, name: &str) -> Result<Option<Partner>> {
    let mut stmt = conn.prepare_cached(&format!("{SELECT_PARTNER} WHERE p.name = ?1"))?;
    stmt.query_row([name], partner_from_row)
        .optional()?
        .transpose()
}

type RowResult<T> = rusqlite::Result<Result<T>>;

fn partner_from_row(r: &Row<'_>) -> RowResult<Partner> {
    let kind: String = r.get(2)?;
    let tier: String = r.get(4)?;
    let lifecycle: String = r.get(6)?;
    let caps: String = r.get(12)?;
    let tags: String = r.get(13)?;
    let id: i64 = r.get(0)?;
    let partner = Partner {
        id: id as u32,
        name: r.get(1)?,
        kind: PartnerKind::Http,
        endpoint: r.get(3)?,
        tier: Tier::Standard,
        owner: r.get(5)?,
        capabilities: Vec::new(),
        tags: Vec::new(),
        lifecycle: Lifecycle::Onboarding,
        depends_on: r.get(7)?,
        health_check: HealthCheck {
            interval_secs: r.get(8)?,
            timeout_secs: r.get(9)?,
        },
        created_at: r.get(10)?,
        updated_at: r.get(11)?,
    };
    Ok((|| {
        let labels = |s: &str| {
            serde_json::from_str::<Vec<String>>(s)
                .map_err(|e| Error::invalid("labels", format!("stored labels are unreadable: {e}")))
        };
        Ok(Partner {
            kind: PartnerKind::parse_field("kind", &kind)?,
            tier: Tier::parse_field("tier", &tier)?,
            lifecycle: Lifecycle::parse_field("lifecycle", &lifecycle)?,
            capabilities: labels(&caps)?,
            tags: labels(&tags)?,
            ..partner
        })
    })())
}

fn no_contract(partner: &str) -> Error {
    Error::NotFound(format!(
        "partner {partner:?} has no contract; set one with `ecosystem contract set`"
    ))
}

/// A stored contract as the input that would set it again.
fn contract_input(c: &Contract) -> ContractInput {
    ContractInput {
        start: c.start,
        end: c.end,
        notice_days: c.notice_days,
        auto_renew: c.auto_renew,
        sla_target: c.sla_target,
        value: c.value.clone(),
        currency: c.currency.clone(),
    }
}

/// The SLA terms stored with the contract of partner `id` (the defaults when none are
/// stored), if it has a contract.
fn sla_terms_row(conn: &Connection, id: i64) -> Result<Option<ContractSlaTerms>> {
    type Words = (
        String,
        String,
        String,
        String,
        String,
        String,
        String,
        Option<i64>,
    );
    let row: Option<Option<Words>> = conn
        .prepare_cached(
            "SELECT t.window_kind, t.time_zone, t.maintenance, t.degraded, t.unknown, t.paused,
                    t.credits, t.fee_minor, t.contract_id IS NOT NULL
             FROM contracts c LEFT JOIN contract_sla_terms t ON t.contract_id = c.id
             WHERE c.partner_id = ?1",
        )?
        .query_row([id], |r| {
            if !r.get::<_, bool>(8)? {
                return Ok(None);
            }
            Ok(Some((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            )))
        })
        .optional()?;
    let Some(row) = row else {
        return Ok(None);
    };
    let Some((window, zone, maintenance, degraded, unknown, paused, credits, fee_minor)) = row
    else {
        return Ok(Some(ContractSlaTerms::default()));
    };
    Ok(Some(ContractSlaTerms {
        window: sla_terms::parse_window("window_kind", &window)?,
        time_zone: crate::sla::parse_time_zone("time_zone", &zone)?,
        rules: crate::sla::AccountingRules {
            maintenance: sla_terms::parse_time_rule("maintenance", &maintenance)?,
            degraded: sla_terms::parse_degraded_rule("degraded", &degraded)?,
            unknown: sla_terms::parse_time_rule("unknown", &unknown)?,
            paused: sla_terms::parse_paused_rule("paused", &paused)?,
        },
        credits: serde_json::from_str(&credits)
            .map_err(|e| Error::invalid("credits", e.to_string()))?,
        fee_minor,
    }))
}

fn contract_from_row(r: &Row<'_>) -> RowResult<Contract> {
    let start: String = r.get(1)?;
    let end: String = r.get(2)?;
    let notice_days: u32 = r.get(3)?;
    let value_minor: Option<i64> = r.get(6)?;
    let partner: String = r.get(0)?;
    let auto_renew: bool = r.get(4)?;
    let sla_target: f64 = r.get(5)?;
    let currency: Option<String> = r.get(7)?;
    Ok((|| {
        let end = parse_day("end", &end)?;
        Ok(Contract {
            partner,
            start: parse_day("start", &start)?,
            end,
            notice_days,
            auto_renew,
            sla_target,
            value: value_minor.map(money::format_amount),
            currency,
            notice_deadline: notice_deadline(end, notice_days),
        })
    })())
}

/// Builds the one query behind partner search: only the criteria given appear in it, each
/// as an indexed lookup, and every value is a bound parameter.
fn partner_query(filter: &PartnerFilter) -> (String, Vec<String>) {
    partner_query_with(SELECT_PARTNER, filter, None)
}

/// [`partner_query`] selecting `head`, optionally narrowed to one current health state.
fn partner_query_with(
    head: &str,
    filter: &PartnerFilter,
    state: Option<crate::health_state::HealthState>,
) -> (String, Vec<String>) {
    let mut sql = String::from(head);
    let mut args: Vec<String> = Vec::new();
    let mut clauses: Vec<String> = Vec::new();
    let bind = |args: &mut Vec<String>, value: &str| {
        args.push(value.to_string());
        format!("?{}", args.len())
    };
    if let Some(kind) = filter.kind {
        clauses.push(format!("p.kind = {}", bind(&mut args, kind.as_str())));
    }
    if let Some(tier) = filter.tier {
        clauses.push(format!("p.tier = {}", bind(&mut args, tier.as_str())));
    }
    if let Some(lifecycle) = filter.lifecycle {
        clauses.push(format!(
            "p.lifecycle = {}",
            bind(&mut args, lifecycle.as_str())
        ));
    }
    if let Some(owner) = &filter.owner {
        clauses.push(format!("p.owner = {}", bind(&mut args, owner)));
    }
    for cap in &filter.capabilities {
        clauses.push(format!(
            "p.id IN (SELECT partner_id FROM partner_capabilities WHERE capability = {})",
            bind(&mut args, cap)
        ));
    }
    for tag in &filter.tags {
        clauses.push(format!(
            "p.id IN (SELECT partner_id FROM partner_tags WHERE tag = {})",
            bind(&mut args, tag)
        ));
    }
    match state {
        None => {}
        // A partner never checked has no row: unknown is "no row saying otherwise".
        Some(crate::health_state::HealthState::Unknown) => clauses.push(
            "p.id NOT IN (SELECT partner_id FROM health_current WHERE state <> 'unknown')".into(),
        ),
        Some(state) => clauses.push(format!(
            "p.id IN (SELECT partner_id FROM health_current WHERE state = {})",
            bind(&mut args, state.as_str())
        )),
    }
    if let Some(text) = filter.text.as_deref().filter(|t| !t.trim().is_empty()) {
        match fts_query(text) {
            Some(q) => clauses.push(format!(
                "p.id IN (SELECT rowid FROM partner_search WHERE partner_search MATCH {})",
                bind(&mut args, &q)
            )),
            // Text with no letters or digits (say "=" or "%") cannot go through the word
            // index; it matches names that contain it literally.
            None => clauses.push(format!(
                "instr(p.name, {}) > 0",
                bind(&mut args, text.trim())
            )),
        }
    }
    if !clauses.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&clauses.join(" AND "));
    }
    sql.push_str(" ORDER BY p.name COLLATE NOCASE, p.name");
    (sql, args)
}

/// Turns what a person typed into an FTS5 query: every word must appear, as a word prefix.
/// Each word is quoted, so FTS5 operators and punctuation in the input are plain text.
fn fts_query(text: &str) -> Option<String> {
    let terms: Vec<String> = text
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .map(|w| format!("\"{}\"*", w.replace('"', "\"\"")))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts_queries_quote_every_word() {
        assert_eq!(
            fts_query("snow prod").as_deref(),
            Some("\"snow\"* \"prod\"*")
        );
        assert_eq!(fts_query("a\"b OR").as_deref(), Some("\"a\"\"b\"* \"OR\"*"));
        assert_eq!(fts_query("= %"), None);
    }

    #[test]
    fn a_change_commits_with_the_wal_synced_then_the_connection_is_back_to_normal() {
        let dir = tempfile::tempdir().unwrap();
        let clock = crate::clock::FixedClock::on(NaiveDate::from_ymd_opt(2026, 11, 26).unwrap());
        let store = Store::open(dir.path().join("e.db")).unwrap();
        let mut reg = Registry::new(store, "tester", Arc::new(clock));
        let level = |c: &Connection| {
            c.pragma_query_value(None, "synchronous", |r| r.get::<_, i64>(0))
                .unwrap()
        };
        assert_eq!(level(reg.store().conn()), 1, "NORMAL by default");
        let inside = reg.write(|w| Ok(level(w.tx))).unwrap();
        assert_eq!(inside, 2, "FULL while a change commits");
        assert_eq!(level(reg.store().conn()), 1, "NORMAL again after it");
        let refused: Result<()> = reg.write(|_| Err(Error::invalid("change", "refused")));
        assert!(refused.is_err());
        assert_eq!(
            level(reg.store().conn()),
            1,
            "NORMAL again after a refused one"
        );
    }
}

#[cfg(test)]
mod credential_tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::clock::FixedClock;
    use crate::credential_store::memory::MemoryCredentialStore;
    use crate::secret::Secret;

    const PLANTED: &str = "planted-7c1e-secret";

    struct Fixture {
        _dir: tempfile::TempDir,
        path: std::path::PathBuf,
        secrets: Arc<MemoryCredentialStore>,
        reg: Registry,
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
    }

    fn registry_on(
        path: &std::path::Path,
        date: NaiveDate,
        secrets: &Arc<MemoryCredentialStore>,
    ) -> Registry {
        Registry::new(
            Store::open(path).unwrap(),
            "tester",
            Arc::new(FixedClock::on(date)),
        )
        .with_credential_store(secrets.clone())
    }

    /// A registry on a real file with a memory keyring and partners "snow" (snowflake),
    /// "dd" (datadog) and "hub" (http).
    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ecosystem.db");
        let secrets = Arc::new(MemoryCredentialStore::default());
        let mut reg = registry_on(&path, today(), &secrets);
        for (name, kind) in [
            ("snow", PartnerKind::Snowflake),
            ("dd", PartnerKind::Datadog),
            ("hub", PartnerKind::Http),
        ] {
            reg.add_partner(&NewPartner::new(name, kind, "https://partner.example.com"))
                .unwrap();
        }
        Fixture {
            _dir: dir,
            path,
            secrets,
            reg,
        }
    }

    fn bearer(token: &str) -> Credential {
        Credential::Bearer {
            token: Secret::new(token),
        }
    }

    fn credential_audit(reg: &Registry) -> Vec<AuditEntry> {
        reg.audit_log(None, 100)
            .unwrap()
            .into_iter()
            .filter(|a| a.entity == "credential")
            .collect()
    }

    fn database_bytes(path: &std::path::Path) -> Vec<u8> {
        let mut bytes = Vec::new();
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            bytes.extend(std::fs::read(std::path::PathBuf::from(p)).unwrap_or_default());
        }
        bytes
    }

    fn contains(haystack: &[u8], needle: &str) -> bool {
        haystack
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
    }

    #[test]
    fn a_set_credential_keeps_its_secret_in_the_store_and_only_its_description_in_the_database() {
        let mut f = fixture();
        let meta = f
            .reg
            .set_credential(
                "dd",
                &Credential::DatadogKeys {
                    api_key: Secret::new(PLANTED),
                    app_key: Some(Secret::new(format!("{PLANTED}-app"))),
                },
                Some("2027-03-01"),
            )
            .unwrap();
        assert_eq!(meta.credential_type, CredentialType::DatadogKeys);
        assert_eq!(meta.label.as_deref(), Some("api key + application key"));
        assert_eq!(meta.expires_on.as_deref(), Some("2027-03-01"));
        assert_eq!(
            f.reg.credential("dd").unwrap(),
            Credential::DatadogKeys {
                api_key: Secret::new(PLANTED),
                app_key: Some(Secret::new(format!("{PLANTED}-app"))),
            },
            "the secret reads back from the store"
        );
        assert!(
            f.secrets.all_text().contains(PLANTED),
            "the store holds the secret"
        );
        let audit = credential_audit(&f.reg);
        assert_eq!(audit.len(), 1, "one audit row: {audit:?}");
        assert_eq!(audit[0].action, "credential.set");
        let detail = audit[0].detail.clone().unwrap_or_default();
        assert!(
            detail.contains("datadog_keys") && detail.contains("api key + application key"),
            "{detail}"
        );
        assert!(
            !detail.contains(PLANTED),
            "the audit detail holds the secret: {detail}"
        );
        assert!(
            !contains(&database_bytes(&f.path), PLANTED),
            "the secret is somewhere in the database files"
        );
    }

    #[test]
    fn renaming_a_partner_keeps_its_credential_reachable() {
        let mut f = fixture();
        f.reg
            .set_credential("snow", &bearer("tok-1"), None)
            .unwrap();
        f.reg
            .update_partner(
                "snow",
                &PartnerUpdate {
                    name: Some("snowflake-prod".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(
            f.reg.credential("snowflake-prod").unwrap(),
            bearer("tok-1"),
            "the keyring item is keyed by the partner's id, not its name"
        );
        assert_eq!(
            f.reg
                .credential_meta("snowflake-prod")
                .unwrap()
                .unwrap()
                .partner,
            "snowflake-prod"
        );
    }

    #[test]
    fn setting_a_credential_again_replaces_the_item_and_deletes_the_old_one() {
        let mut f = fixture();
        f.reg.set_credential("hub", &bearer("tok-1"), None).unwrap();
        let first = f.secrets.keys();
        f.reg
            .set_credential(
                "hub",
                &Credential::Basic {
                    username: "alice".into(),
                    password: Secret::new("pw-2"),
                },
                None,
            )
            .unwrap();
        let second = f.secrets.keys();
        assert_eq!(second.len(), 1, "exactly one item is left: {second:?}");
        assert_ne!(first, second, "the new secret went to a new item");
        let audit = credential_audit(&f.reg);
        assert_eq!(audit[0].action, "credential.set");
        let detail = audit[0].detail.clone().unwrap_or_default();
        assert!(
            detail.contains("\"replaces\":{\"label\":null,\"type\":\"bearer\"}"),
            "{detail}"
        );
    }

    #[test]
    fn a_rotation_that_fails_verification_leaves_the_old_credential_in_place() {
        let mut f = fixture();
        f.reg
            .set_credential("snow", &bearer("old-token"), Some("2027-01-01"))
            .unwrap();
        let keys = f.secrets.keys();
        let audit_before = credential_audit(&f.reg).len();
        let err = f
            .reg
            .rotate_credential("snow", &bearer("new-token"), None, |c| {
                assert_eq!(c, &bearer("new-token"), "verify sees the new credential");
                Err("401 JWT token is invalid".into())
            })
            .unwrap_err();
        let text = err.to_string();
        assert!(
            err.is_bad_input(),
            "a rejected credential is the caller's to fix"
        );
        assert!(
            text.contains("failed verification")
                && text.contains("401 JWT token is invalid")
                && text.contains("stays in place"),
            "{text}"
        );
        assert_eq!(
            f.reg.credential("snow").unwrap(),
            bearer("old-token"),
            "the old secret stays"
        );
        assert_eq!(f.secrets.keys(), keys, "no new item was written");
        assert_eq!(
            f.reg
                .credential_meta("snow")
                .unwrap()
                .unwrap()
                .expires_on
                .as_deref(),
            Some("2027-01-01"),
            "the old description stays"
        );
        assert_eq!(
            credential_audit(&f.reg).len(),
            audit_before,
            "nothing is audited"
        );
    }

    #[test]
    fn a_verified_rotation_replaces_the_credential_and_is_audited_as_a_rotation() {
        let mut f = fixture();
        f.reg
            .set_credential("snow", &bearer("old-token"), None)
            .unwrap();
        let old_keys = f.secrets.keys();
        let mut verified = false;
        f.reg
            .rotate_credential("snow", &bearer("new-token"), Some("2027-06-30"), |_| {
                verified = true;
                Ok(())
            })
            .unwrap();
        assert!(verified, "verify ran");
        assert_eq!(f.reg.credential("snow").unwrap(), bearer("new-token"));
        let keys = f.secrets.keys();
        assert_eq!(keys.len(), 1, "the old item is deleted: {keys:?}");
        assert_ne!(keys, old_keys);
        let audit = credential_audit(&f.reg);
        assert_eq!(audit[0].action, "credential.rotate");
        assert!(audit[0]
            .detail
            .as_deref()
            .unwrap_or_default()
            .contains("\"verified\":true"));
    }

    #[test]
    fn rotating_needs_an_existing_credential() {
        let mut f = fixture();
        let err = f
            .reg
            .rotate_credential("snow", &bearer("t"), None, |_| Ok(()))
            .unwrap_err();
        assert!(err.to_string().contains("no credential to rotate"), "{err}");
    }

    #[test]
    fn a_credential_that_does_not_fit_the_partner_or_has_a_bad_expiry_stores_nothing() {
        let mut f = fixture();
        let cases: [(&str, Credential, Option<&str>, &str); 4] = [
            (
                "dd",
                Credential::Basic {
                    username: "u".into(),
                    password: Secret::new(PLANTED),
                },
                None,
                "credential_type: basic does not fit a datadog partner",
            ),
            (
                "snow",
                bearer(PLANTED),
                Some("2026-11-25"),
                "expires_on: 2026-11-25 is in the past",
            ),
            (
                "snow",
                bearer(PLANTED),
                Some("2026-13-01"),
                "expires_on: \"2026-13-01\" is not a valid date",
            ),
            (
                "nobody",
                bearer(PLANTED),
                None,
                "no partner named \"nobody\"",
            ),
        ];
        for (partner, credential, expires, expected) in cases {
            let err = f
                .reg
                .set_credential(partner, &credential, expires)
                .unwrap_err();
            assert!(
                err.to_string().starts_with(expected),
                "expected {expected:?}, got {err}"
            );
            assert!(err.is_bad_input(), "{err} is bad input");
        }
        assert!(f.secrets.keys().is_empty(), "nothing reached the store");
        assert!(
            f.reg.credentials().unwrap().is_empty(),
            "nothing was recorded"
        );
        assert!(credential_audit(&f.reg).is_empty(), "nothing was audited");
    }

    #[test]
    fn a_keyring_that_refuses_the_write_leaves_no_row_and_no_audit() {
        let mut f = fixture();
        f.secrets.fail_writes.store(true, Ordering::SeqCst);
        let err = f
            .reg
            .set_credential("snow", &bearer("t"), None)
            .unwrap_err();
        assert!(
            !err.is_bad_input(),
            "a keyring failure is a runtime failure: {err}"
        );
        assert!(
            err.to_string()
                .starts_with("OS keyring: cannot write keyring item"),
            "{err}"
        );
        assert!(
            f.reg.credentials().unwrap().is_empty(),
            "nothing was recorded"
        );
        assert!(credential_audit(&f.reg).is_empty(), "nothing was audited");
    }

    #[test]
    fn a_database_failure_after_the_keyring_write_deletes_the_new_item_again() {
        let mut f = fixture();
        f.reg.set_credential("snow", &bearer("old"), None).unwrap();
        let keys = f.secrets.keys();
        f.reg
            .store()
            .conn()
            .execute_batch(
                "CREATE TEMP TRIGGER refuse BEFORE UPDATE ON credentials_meta
                 BEGIN SELECT RAISE(ABORT, 'disk says no'); END;",
            )
            .unwrap();
        let err = f
            .reg
            .set_credential("snow", &bearer("new"), None)
            .unwrap_err();
        assert!(err.to_string().contains("disk says no"), "{err}");
        assert_eq!(
            f.secrets.keys(),
            keys,
            "the new item was cleaned up, the old one kept"
        );
        assert_eq!(f.reg.credential("snow").unwrap(), bearer("old"));
    }

    #[test]
    fn removing_a_credential_deletes_the_item_and_the_row_with_an_audit_row() {
        let mut f = fixture();
        f.reg.set_credential("hub", &bearer("t"), None).unwrap();
        f.reg.remove_credential("hub").unwrap();
        assert!(f.secrets.keys().is_empty(), "the keyring item is gone");
        assert_eq!(
            f.reg.credential_meta("hub").unwrap(),
            None,
            "the row is gone"
        );
        assert_eq!(credential_audit(&f.reg)[0].action, "credential.remove");
        let err = f.reg.remove_credential("hub").unwrap_err();
        assert!(err.to_string().contains("has no credential"), "{err}");
    }

    #[test]
    fn a_keyring_that_refuses_the_delete_keeps_the_credential_recorded() {
        let mut f = fixture();
        f.reg.set_credential("hub", &bearer("t"), None).unwrap();
        f.secrets.fail_deletes.store(true, Ordering::SeqCst);
        f.reg.remove_credential("hub").unwrap_err();
        assert!(
            f.reg.credential_meta("hub").unwrap().is_some(),
            "the row stays, so a retry can work"
        );
        assert_eq!(f.reg.credential("hub").unwrap(), bearer("t"));
    }

    #[test]
    fn removing_a_partner_deletes_its_keyring_item_and_its_row() {
        let mut f = fixture();
        f.reg.set_credential("snow", &bearer("t"), None).unwrap();
        f.reg.remove_partner("snow").unwrap();
        assert!(f.secrets.keys().is_empty(), "the keyring item is gone");
        let count: i64 = f
            .reg
            .store()
            .conn()
            .query_row("SELECT count(*) FROM credentials_meta", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 0, "the row went with the partner");
        let actions: Vec<String> = f
            .reg
            .audit_log(Some("snow"), 2)
            .unwrap()
            .into_iter()
            .map(|a| a.action)
            .collect();
        assert_eq!(actions, ["partner.remove", "credential.remove"]);
    }

    #[test]
    fn a_keyring_failure_does_not_stop_a_partner_removal() {
        let mut f = fixture();
        f.reg.set_credential("snow", &bearer("t"), None).unwrap();
        f.secrets.fail_deletes.store(true, Ordering::SeqCst);
        f.reg.remove_partner("snow").unwrap();
        assert!(f.reg.partner("snow").is_err(), "the partner is removed");
    }

    #[test]
    fn a_partner_removal_that_is_refused_leaves_its_keyring_item_alone() {
        let mut f = fixture();
        f.reg.set_credential("hub", &bearer("t"), None).unwrap();
        let mut child = NewPartner::new("child", PartnerKind::Http, "https://c.example.com");
        child.depends_on = Some("hub".into());
        f.reg.add_partner(&child).unwrap();
        f.reg.remove_partner("hub").unwrap_err();
        assert_eq!(
            f.reg.credential("hub").unwrap(),
            bearer("t"),
            "the secret is still there"
        );
    }

    #[test]
    fn expiring_credentials_are_listed_soonest_first_including_expired_ones() {
        let mut f = fixture();
        f.reg
            .set_credential("snow", &bearer("a"), Some("2026-12-06"))
            .unwrap();
        f.reg
            .set_credential("hub", &bearer("b"), Some("2027-01-05"))
            .unwrap();
        f.reg
            .set_credential(
                "dd",
                &Credential::ApiKey {
                    header: "DD-API-KEY".into(),
                    key: Secret::new("k"),
                },
                None,
            )
            .unwrap();
        let names =
            |list: Vec<CredentialMeta>| list.into_iter().map(|m| m.partner).collect::<Vec<_>>();
        assert_eq!(names(f.reg.expiring_credentials(30).unwrap()), ["snow"]);
        assert_eq!(
            names(f.reg.expiring_credentials(40).unwrap()),
            ["snow", "hub"]
        );
        assert_eq!(names(f.reg.credentials().unwrap()), ["dd", "hub", "snow"]);
        let later = registry_on(
            &f.path,
            NaiveDate::from_ymd_opt(2026, 12, 20).unwrap(),
            &f.secrets,
        );
        assert_eq!(
            names(later.expiring_credentials(0).unwrap()),
            ["snow"],
            "an expired credential is still listed"
        );
    }
}
