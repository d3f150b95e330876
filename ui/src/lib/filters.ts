// Turns the catalogue's filter controls into the PartnerFilter the backend takes.
import type { HealthState, PartnerFilter } from "./types";
import { HEALTH_STATE_LABELS, isKind, isLifecycle, isTier } from "./vocabulary";

/** What the filter controls hold: the search text and the values of the menus ("" = any). */
export type FilterState = {
  text: string;
  kind: string;
  tier: string;
  lifecycle: string;
  capability: string;
  owner: string;
  tag: string;
  /** The health state the badges show ("" = any). */
  health: string;
};

export const EMPTY_FILTER_STATE: Readonly<FilterState> = {
  text: "",
  kind: "",
  tier: "",
  lifecycle: "",
  capability: "",
  owner: "",
  tag: "",
  health: "",
};

/** A PartnerFilter with every criterion spelled out (null or empty when unused). */
export type CompleteFilter = Required<PartnerFilter>;

/** The filter that matches every partner. */
export function allPartners(): CompleteFilter {
  return {
    kind: null,
    tier: null,
    lifecycle: null,
    owner: null,
    capabilities: [],
    tags: [],
    text: null,
  };
}

/**
 * Builds the backend filter: blank text and "any" menus become null or empty lists, the search
 * text loses its surrounding whitespace, and a menu value the backend would not know is ignored.
 */
export function buildFilter(state: FilterState): CompleteFilter {
  const text = state.text.trim();
  return {
    ...allPartners(),
    kind: isKind(state.kind) ? state.kind : null,
    tier: isTier(state.tier) ? state.tier : null,
    lifecycle: isLifecycle(state.lifecycle) ? state.lifecycle : null,
    owner: state.owner === "" ? null : state.owner,
    capabilities: state.capability === "" ? [] : [state.capability],
    tags: state.tag === "" ? [] : [state.tag],
    text: text === "" ? null : text,
  };
}

/** Whether the filter narrows the list at all (an empty result then means "no match"). */
export function isFiltering(filter: CompleteFilter): boolean {
  return (
    filter.kind !== null ||
    filter.tier !== null ||
    filter.lifecycle !== null ||
    filter.owner !== null ||
    filter.capabilities.length > 0 ||
    filter.tags.length > 0 ||
    filter.text !== null
  );
}

/** The menu's options: the known values, plus the selected one if it has since disappeared. */
export function withSelected(options: readonly string[], selected: string): string[] {
  const list = [...options];
  if (selected !== "" && !list.includes(selected)) list.push(selected);
  return list;
}

export function isHealthState(value: string): value is HealthState {
  return Object.hasOwn(HEALTH_STATE_LABELS, value);
}

/** The health state to narrow to, or null for any (an unknown word is ignored). */
export function healthFilter(state: Pick<FilterState, "health">): HealthState | null {
  return isHealthState(state.health) ? state.health : null;
}

/** Whether the controls narrow the list at all, health state included. */
export function isNarrowed(filter: CompleteFilter, health: HealthState | null): boolean {
  return health !== null || isFiltering(filter);
}

const NUMBER = new Intl.NumberFormat("en-US");

/**
 * The catalogue's count: "10,000 partners" when nothing narrows the list, "312 of 10,000
 * partners" when something does.
 */
export function catalogueCount(shown: number, total: number, narrowed: boolean): string {
  const noun = (n: number) => (n === 1 ? "partner" : "partners");
  if (!narrowed) return `${NUMBER.format(total)} ${noun(total)}`;
  return `${NUMBER.format(shown)} of ${NUMBER.format(total)} ${noun(total)}`;
}

/**
 * The records to show, in the order of `ids` (the backend's answer), looked up among the
 * records the catalogue holds; `null` ids mean no narrowing. An id the catalogue does not hold
 * (a partner added since the list was loaded) is left out until the list reloads.
 */
export function pickByIds<T extends { id: number }>(all: readonly T[], ids: readonly number[] | null): T[] {
  if (ids === null) return [...all];
  const byId = new Map(all.map((p) => [p.id, p] as const));
  const out: T[] = [];
  for (const id of ids) {
    const found = byId.get(id);
    if (found !== undefined) out.push(found);
  }
  return out;
}
