// The UI's only door to the backend: the generated, typed commands, with their results
// unwrapped. Components import from here and never call `invoke` themselves.
import { commands } from "./bindings";
import { asCommandError, CommandFailure } from "./errors";
import type {
  Facets,
  NewPartner,
  Outcome,
  Partner,
  PartnerFilter,
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

export function workspaceInfo(): Promise<WorkspaceInfo> {
  return unwrap(commands.workspaceInfo());
}

/** Adds a partner; a refusal comes back as the answer's error so the form can place it. */
export function addPartner(partner: NewPartner): Promise<Outcome<Partner>> {
  return settle(commands.addPartner(partner));
}
