// The wire types, taken from the generated bindings through the commands that use them.
//
// tauri-specta may export a type such as `Partner` as the union of its serialised and
// deserialised forms (where `owner` may be missing). Reading the types off the commands instead
// gives exactly what each command returns and accepts, whichever way the bindings were made.
import type {
  CheckOutcomeView,
  CheckState,
  commands,
  CredentialType,
  ErrorClass,
  HealthRange,
  HealthState,
  Lifecycle,
  PartnerKind,
  Tier,
} from "./bindings";

type Commands = typeof commands;
type Answer<K extends keyof Commands> = Awaited<ReturnType<Commands[K]>>;
type OkData<R> = R extends { status: "ok"; data: infer D } ? D : never;
type ErrorOf<R> = R extends { status: "error"; error: infer E } ? E : never;

/** A partner as the backend sends it. */
export type Partner = OkData<Answer<"listPartners">>[number];
/** The values in use, for the filter menus. */
export type Facets = OkData<Answer<"partnerFacets">>;
/** Where the data lives and how much there is. */
export type WorkspaceInfo = OkData<Answer<"workspaceInfo">>;
export type DemoStatus = OkData<Answer<"demoStatus">>;
/** The one error shape the commands reject with. */
export type CommandError = ErrorOf<Answer<"addPartner">>;
/** What list_partners takes. */
export type PartnerFilter = Parameters<Commands["listPartners"]>[0];
/** What add_partner takes. */
export type NewPartner = Parameters<Commands["addPartner"]>[0];
/** What update_partner takes: the changed fields only, null for the others. */
export type PartnerChange = Parameters<Commands["updatePartner"]>[1];
/** A partner's page: record, contract, credential metadata, the credential types it takes. */
export type PartnerDetail = OkData<Answer<"partnerDetail">>;
/** What is recorded about a credential: never the secret. */
export type CredentialMeta = OkData<Answer<"setCredential">>;
/** A partner's contract. */
export type Contract = NonNullable<PartnerDetail["contract"]>;
/** What set_credential takes: the credential's fields and its expiry. */
export type CredentialInput = Parameters<Commands["setCredential"]>[1];
/** What a connection test found. */
export type ConnectionCheckView = OkData<Answer<"testConnection">>;
/** A partner's current health, for the catalogue's badge. */
export type HealthBadge = OkData<Answer<"healthOverview">>[number];
/** What the partner page's Health card shows. */
export type PartnerHealth = OkData<Answer<"partnerHealth">>;
/** The partner page's health timeline chart (SVG) and what it shows in words. */
export type HealthChartView = OkData<Answer<"partnerHealthChart">>;
/** The SLA of a partner's contract over the current window, as partner_sla sends it. */
export type SlaStatus = NonNullable<OkData<Answer<"partnerSla">>>;
/** One of the latest checks (a tick of the heartbeat bar). */
export type CheckView = PartnerHealth["recent_checks"][number];
/** One point of the latency chart. */
export type SeriesPoint = PartnerHealth["series"][number];
/** An unhealthy period. */
export type IncidentView = PartnerHealth["incidents"][number];
/** A contract's expiry alert (one stage raised for a term). */
export type ContractAlert = OkData<Answer<"contractAlerts">>[number];
/** A contract seen from its notice deadline. */
export type ExpiryView = OkData<Answer<"expiringContracts">>[number];
/** SLA, incidents and usage over a contract's term so far. */
export type RenewalBrief = OkData<Answer<"renewalBrief">>;
/** What the reports page asks for. */
export type UsageQuery = Parameters<Commands["usageReport"]>[0];
/** A usage report with its chart. */
export type ReportView = OkData<Answer<"usageReport">>;
/** A report's chart alone, shown while the whole report is made. */
export type ChartView = OkData<Answer<"usageChart">>;
/** A finished CSV export (`null` when the save dialog was cancelled). */
export type ExportDone = OkData<Answer<"exportUsageCsv">>;
/** A partner's quarterly review with its charts (SVG). */
export type ReviewView = OkData<Answer<"quarterlyReview">>;
/** A partner's quarterly review. */
export type QuarterlyReview = ReviewView["review"];
/** The files a review export wrote (`null` when the folder dialog was cancelled). */
export type ReviewExport = OkData<Answer<"exportQuarterlyReview">>;
/** The partner page beyond the record: contract standing, capabilities verified, audit trail. */
export type PartnerPage = OkData<Answer<"partnerPage">>;
/** One row of a partner's audit trail. */
export type AuditEntry = PartnerPage["audit"][number];
/** A capability and when a connection test last verified it. */
export type CapabilityVerification = PartnerPage["capabilities"][number];
/** The Overview page: health counts, partners needing attention, SLAs at risk, decisions. */
export type Overview = OkData<Answer<"overview">>;
/** One workspace setting: meaning, what it accepts, stored value and default. */
export type SettingView = OkData<Answer<"listSettings">>[number];
/** What the audit page asks for: filters and the page. */
export type AuditQuery = Parameters<Commands["auditLog"]>[0];
/** One page of the audit log. */
export type AuditPage = OkData<Answer<"auditLog">>;
/** A command's answer: its data, or a CommandError. */
export type Outcome<T> = { status: "ok"; data: T } | { status: "error"; error: CommandError };

export type {
  CheckOutcomeView,
  CheckState,
  CredentialType,
  ErrorClass,
  HealthRange,
  HealthState,
  Lifecycle,
  PartnerKind,
  Tier,
};
