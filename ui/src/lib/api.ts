// The UI's only door to the backend: the generated, typed commands, with their results
// unwrapped. Components import from here and never call `invoke` themselves.
import { commands } from "./bindings";
import { asCommandError, CommandFailure } from "./errors";
import type {
  ConnectionCheckView,
  ExportDone,
  ReportView,
  ChartView,
  ReviewExport,
  ReviewView,
  UsageQuery,
  ContractAlert,
  ExpiryView,
  RenewalBrief,
  CredentialInput,
  CredentialMeta,
  DemoStatus,
  Facets,
  HealthBadge,
  HealthChartView,
  HealthRange,
  HealthState,
  NewPartner,
  Outcome,
  Overview,
  AuditPage,
  AuditQuery,
  SettingView,
  Partner,
  PartnerDetail,
  PartnerFilter,
  PartnerHealth,
  PartnerPage,
  PartnerChange,
  SlaStatus,
  WorkspaceInfo,
} from "./types";

/** Normalises the error side of a command's answer (see asCommandError). */
async function settle<T>(
  call: Promise<{ status: "ok"; data: T } | { status: "error"; error: unknown }>,
): Promise<Outcome<T>> {
  const answer = await call;
  return answer.status === "ok"
    ? { status: "ok", data: answer.data }
    : { status: "error", error: asCommandError(answer.error) };
}

/** The data of a successful answer; a refusal is thrown as a CommandFailure. */
async function unwrap<T>(
  call: Promise<{ status: "ok"; data: T } | { status: "error"; error: unknown }>,
): Promise<T> {
  const answer = await settle(call);
  if (answer.status === "error") throw new CommandFailure(answer.error);
  return answer.data;
}

export function listPartners(filter: PartnerFilter): Promise<Partner[]> {
  return unwrap(commands.listPartners(filter));
}

export function partnerFacets(): Promise<Facets> {
  return unwrap(commands.partnerFacets());
}

/** Milliseconds from the app's process start until now (called at the catalogue's first paint). */
export function firstPaint(): Promise<number> {
  return commands.firstPaint();
}

export function workspaceInfo(): Promise<WorkspaceInfo> {
  return unwrap(commands.workspaceInfo());
}

/** Adds a partner; a refusal comes back as the answer's error so the form can place it. */
export function addPartner(partner: NewPartner): Promise<Outcome<Partner>> {
  return settle(commands.addPartner(partner));
}

/** A partner's page: its record, contract, credential metadata and usable credential types. */
export function partnerDetail(name: string): Promise<PartnerDetail> {
  return unwrap(commands.partnerDetail(name));
}

/**
 * Stores a partner's credential (a replacement only once a connection test with it passes);
 * a refusal comes back as the answer's error so the form can place it.
 */
export function setCredential(
  partner: string,
  input: CredentialInput,
): Promise<Outcome<CredentialMeta>> {
  return settle(commands.setCredential(partner, input));
}

export function removeCredential(partner: string): Promise<Outcome<null>> {
  return settle(commands.removeCredential(partner));
}

/** Tests the connection with the stored credential; the check itself says what failed. */
export function testConnection(partner: string): Promise<Outcome<ConnectionCheckView>> {
  return settle(commands.testConnection(partner));
}

/** Every partner's current health state, for the catalogue's badges. */
export function healthOverview(): Promise<HealthBadge[]> {
  return unwrap(commands.healthOverview());
}

/** A partner's health over `range`: state, uptime, latency, latest checks, chart, incidents. */
/** The SLA of the partner's contract over the current window to date; `null` without one. */
export function partnerSla(name: string): Promise<SlaStatus | null> {
  return unwrap(commands.partnerSla(name));
}

/** The open contract alerts, or with `all` every recorded one. */
export function contractAlerts(all: boolean): Promise<ContractAlert[]> {
  return unwrap(commands.contractAlerts(all));
}

/** Contracts whose notice deadline is within `withinDays` (or past), soonest first. */
export function expiringContracts(withinDays: number): Promise<ExpiryView[]> {
  return unwrap(commands.expiringContracts(withinDays));
}

export function acknowledgeContractAlert(partner: string, stage: number | null): Promise<Outcome<ContractAlert>> {
  return settle(commands.acknowledgeContractAlert(partner, stage));
}

export function snoozeContract(partner: string, until: string): Promise<Outcome<ExpiryView>> {
  return settle(commands.snoozeContract(partner, until));
}

export function renewContract(partner: string, newEnd: string | null): Promise<Outcome<ExpiryView>> {
  return settle(commands.renewContract(partner, newEnd));
}

export function terminateContract(partner: string): Promise<Outcome<ExpiryView>> {
  return settle(commands.terminateContract(partner));
}

export function renewalBrief(partner: string): Promise<RenewalBrief> {
  return unwrap(commands.renewalBrief(partner));
}

/** The usage report for `query`, with the chart of `chartMetric` (the first metric when null). */
export function usageReport(query: UsageQuery, chartMetric: string | null): Promise<ReportView> {
  return unwrap(commands.usageReport(query, chartMetric));
}

/** The chart `usageReport` draws for the same query and metric, made without the rest of the report. */
export function usageChart(query: UsageQuery, chartMetric: string | null): Promise<ChartView> {
  return unwrap(commands.usageChart(query, chartMetric));
}

/** Asks where to save, then writes the report as CSV there; `null` when the dialog was cancelled. */
export function exportUsageCsv(query: UsageQuery): Promise<ExportDone> {
  return unwrap(commands.exportUsageCsv(query));
}

/**
 * Asks where to save, then draws the report's chart (of `chartMetric`) there as SVG or PNG;
 * the path written, or `null` when the dialog was cancelled.
 */
export function exportUsageChart(query: UsageQuery, format: string, chartMetric: string | null): Promise<string | null> {
  return unwrap(commands.exportUsageChart(query, format, chartMetric));
}

/** A partner's health and latency timeline over `range`, drawn in Rust (SVG), with its description. */
export function partnerHealthChart(name: string, range: HealthRange): Promise<HealthChartView> {
  return unwrap(commands.partnerHealthChart(name, range));
}

/** Pauses (or resumes) a partner's health checks; a refusal comes back as the answer's error. */
export function setPartnerPaused(name: string, paused: boolean): Promise<Outcome<null>> {
  return settle(commands.setPartnerPaused(name, paused));
}

export function partnerHealth(name: string, range: HealthRange): Promise<PartnerHealth> {
  return unwrap(commands.partnerHealth(name, range));
}

/** The ids of the partners matching `filter` (and health state), by name: the catalogue's narrowing. */
export function catalogueIds(filter: PartnerFilter, health: HealthState | null): Promise<number[]> {
  return unwrap(commands.catalogueIds(filter, health));
}

/** The partner page beyond the record: contract standing, capabilities verified, audit trail. */
export function partnerPage(name: string): Promise<PartnerPage> {
  return unwrap(commands.partnerPage(name));
}

/** Changes a partner's fields; a refusal (naming the field) comes back as the answer's error. */
export function updatePartner(name: string, change: PartnerChange): Promise<Outcome<Partner>> {
  return settle(commands.updatePartner(name, change));
}

/** Activates a partner (the last onboarding step); a refusal comes back as the answer's error. */
export function activatePartner(name: string): Promise<Outcome<Partner>> {
  return settle(commands.activatePartner(name));
}

/** A partner's quarterly review ("2026-Q3") with its charts. */
export function quarterlyReview(partner: string, quarter: string): Promise<ReviewView> {
  return unwrap(commands.quarterlyReview(partner, quarter));
}

/** Asks for a folder and writes the review's CSV and HTML there; `null` when cancelled. */
export function exportQuarterlyReview(partner: string, quarter: string): Promise<ReviewExport> {
  return unwrap(commands.exportQuarterlyReview(partner, quarter));
}

/** Whether this workspace is a demo (the header's label), and its partners. */
export function demoStatus(): Promise<DemoStatus> {
  return unwrap(commands.demoStatus());
}

/** Starts partner-sim and registers the demo partners; a refusal comes back as the answer's error. */
export function startDemo(): Promise<Outcome<string[]>> {
  return settle(commands.startDemo());
}

/** Removes the demo partners with their credentials and stops partner-sim. */
export function removeDemo(): Promise<Outcome<string[]>> {
  return settle(commands.removeDemo());
}

/** The workspace at a glance, for the Overview page. */
export function overview(): Promise<Overview> {
  return unwrap(commands.overview());
}

/** Every workspace setting with its meaning, value and default. */
export function listSettings(): Promise<SettingView[]> {
  return unwrap(commands.listSettings());
}

/** Stores a setting (audited); a refusal comes back as the answer's error, naming the setting. */
export function updateSetting(key: string, value: string): Promise<Outcome<SettingView>> {
  return settle(commands.updateSetting(key, value));
}

/** One page of the audit log, newest first. */
export function auditLog(query: AuditQuery): Promise<AuditPage> {
  return unwrap(commands.auditLog(query));
}

/** Asks where to save, then writes the filtered audit log as CSV; `null` when cancelled. */
export function exportAuditCsv(query: AuditQuery): Promise<ExportDone> {
  return unwrap(commands.exportAuditCsv(query));
}
