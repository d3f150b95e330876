// Errors from the backend, in the one shape the UI handles.
import type { CommandError } from "./types";

function isCommandError(value: unknown): value is CommandError {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.code === "string" &&
    typeof v.message === "string" &&
    (v.field === null || v.field === undefined || typeof v.field === "string")
  );
}

/**
 * The generated bindings pass on whatever a command rejected with. That is a CommandError for
 * the commands' own errors, but Tauri itself rejects with a plain string (for example when the
 * arguments cannot be read), so anything else becomes an "internal" CommandError here.
 */
export function asCommandError(value: unknown): CommandError {
  if (isCommandError(value)) {
    return { code: value.code, message: value.message, field: value.field ?? null };
  }
  return { code: "internal", message: describeError(value), field: null };
}

/** Describes anything thrown or rejected, for an error banner. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "string") return error;
  if (typeof error === "object" && error !== null && "message" in error) {
    const { message } = error as { message: unknown };
    if (typeof message === "string") return message;
  }
  return "an unexpected error occurred";
}

/** An Error carrying a backend CommandError, thrown by the loading helpers in api.ts. */
export class CommandFailure extends Error {
  readonly error: CommandError;

  constructor(error: CommandError) {
    super(error.message);
    this.name = "CommandFailure";
    this.error = error;
  }
}
