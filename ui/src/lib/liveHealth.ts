// Live health from the backend: the health changes it records (whichever process polls) and
// the requests to open a partner (a clicked notification). Components subscribe through
// here, never through the bindings' events directly, and the decisions about what a change
// touches are plain functions that the tests check.
import { events, type HealthChange } from "./bindings";

export type { HealthChange };

/** Stops a subscription. */
export type Unsubscribe = () => void;

/**
 * Calls `handler` with every batch of health changes. The subscription starts at once; the
 * returned function ends it, also when called before the backend confirmed it.
 */
export function onHealthChanged(handler: (changes: HealthChange[]) => void): Unsubscribe {
  return subscribe(events.healthChanged.listen((event) => handler(event.payload.changes)));
}

/** Calls `handler` with the name of each partner whose page is asked for. */
export function onOpenPartner(handler: (name: string) => void): Unsubscribe {
  return subscribe(events.openPartner.listen((event) => handler(event.payload.name)));
}

/** Calls `handler` with the number of open contract alerts whenever it changes. */
export function onContractAlertsChanged(handler: (open: number) => void): Unsubscribe {
  return subscribe(events.contractAlertsChanged.listen((event) => handler(event.payload.open)));
}

/** Calls `handler` with the rows written so far by a running CSV export. */
export function onExportProgress(handler: (rows: number) => void): Unsubscribe {
  return subscribe(events.exportProgress.listen((event) => handler(event.payload.rows)));
}

function subscribe(listening: Promise<() => void>): Unsubscribe {
  let stop: (() => void) | null = null;
  let stopped = false;
  listening
    .then((unlisten) => {
      if (stopped) unlisten();
      else stop = unlisten;
    })
    .catch(() => {
      // Outside the app (tests, a plain browser) there is nothing to listen to.
    });
  return () => {
    stopped = true;
    stop?.();
  };
}

/** Whether a batch of changes concerns `partner`. */
export function touches(changes: readonly HealthChange[], partner: string): boolean {
  return changes.some((c) => c.partner === partner);
}

/** The latest state of each partner in a batch (a partner may change twice in one). */
export function latestStates(changes: readonly HealthChange[]): Map<string, HealthChange["to"]> {
  const latest = new Map<string, HealthChange["to"]>();
  for (const change of changes) latest.set(change.partner, change.to);
  return latest;
}
