// Turns the catalogue's filter controls into the PartnerFilter the backend takes.
import type { PartnerFilter } from "./types";
import { isKind, isLifecycle, isTier } from "./vocabulary";

/** What the filter controls hold: the search text and the values of the menus ("" = any). */
export type FilterState = {
  text: string;
  kind: string;
  tier: string;
  lifecycle: string;
  capability: string;
};

export const EMPTY_FILTER_STATE: Readonly<FilterState> = {
  text: "",
  kind: "",
  tier: "",
  lifecycle: "",
  capability: "",
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
    capabilities: state.capability === "" ? [] : [state.capability],
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
