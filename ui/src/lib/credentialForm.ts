// The credential form's rules: which fields each credential type has, the checks that mirror
// the backend's (crates/core credentials.rs), and the mapping of the form to the
// CredentialInput that set_credential takes. The backend checks again; its errors are mapped
// back onto the same fields by `credentialErrorField`. Messages never quote a secret.
import type { CommandError, CredentialInput, CredentialType } from "./types";
import { sentence } from "./format";
import { textProblem } from "./partnerForm";

export const MAX_NAME_CHARS = 120;
export const MAX_LABEL_CHARS = 64;
export const MAX_URL_CHARS = 2048;
/** The longest one-line secret the backend accepts (keyrings have limits). */
export const MAX_SECRET_BYTES = 2048;
/** The longest PEM private key the backend accepts. */
export const MAX_PEM_BYTES = 8 * 1024;

export const CREDENTIAL_TYPE_LABELS: Readonly<Record<CredentialType, string>> = {
  api_key: "API key",
  bearer: "Bearer token",
  basic: "User name and password",
  oauth_client_credentials: "OAuth client credentials",
  snowflake_key_pair: "Snowflake key pair",
  datadog_keys: "Datadog API and application keys",
  client_certificate: "TLS client certificate",
};

export function isCredentialType(value: string): value is CredentialType {
  return Object.hasOwn(CREDENTIAL_TYPE_LABELS, value);
}

/** The form's inputs; each credential type uses some of them (see CREDENTIAL_FIELDS). */
export type CredentialField =
  | "header"
  | "api_key"
  | "app_key"
  | "token"
  | "username"
  | "password"
  | "token_url"
  | "client_id"
  | "client_secret"
  | "scope"
  | "account"
  | "user"
  | "certificate"
  | "private_key";

/** Everything that can carry an error: the type, the inputs and the expiry. */
export type CredentialFormField = "type" | CredentialField | "expires";

export type CredentialFieldSpec = {
  readonly label: string;
  /** Shown masked (`type="password"`) and never kept after saving. */
  readonly secret: boolean;
  /** A textarea (PEM text). */
  readonly multiline: boolean;
  readonly optional: boolean;
  readonly hint?: string;
  readonly placeholder?: string;
};

export const FIELD_SPECS: Readonly<Record<CredentialField, CredentialFieldSpec>> = {
  header: {
    label: "Header",
    secret: false,
    multiline: false,
    optional: false,
    placeholder: "e.g. X-API-Key",
  },
  api_key: { label: "API key", secret: true, multiline: false, optional: false },
  app_key: {
    label: "Application key",
    secret: true,
    multiline: false,
    optional: true,
    hint: "Needed to read events and usage.",
  },
  token: { label: "Token", secret: true, multiline: false, optional: false },
  username: { label: "User name", secret: false, multiline: false, optional: false },
  password: { label: "Password", secret: true, multiline: false, optional: false },
  token_url: {
    label: "Token URL",
    secret: false,
    multiline: false,
    optional: false,
    placeholder: "e.g. https://idp.example.com/oauth2/token",
  },
  client_id: { label: "Client id", secret: false, multiline: false, optional: false },
  client_secret: { label: "Client secret", secret: true, multiline: false, optional: false },
  scope: { label: "Scope", secret: false, multiline: false, optional: true },
  account: {
    label: "Account",
    secret: false,
    multiline: false,
    optional: false,
    placeholder: "e.g. ORG-ACCOUNT",
  },
  user: { label: "User", secret: false, multiline: false, optional: false },
  certificate: {
    label: "Certificate (PEM)",
    secret: false,
    multiline: true,
    optional: false,
    placeholder: "-----BEGIN CERTIFICATE-----",
  },
  private_key: {
    label: "Private key (PKCS#8 PEM)",
    secret: true,
    multiline: true,
    optional: false,
    placeholder: "-----BEGIN PRIVATE KEY-----",
    hint: "Unencrypted: the OS keyring protects it.",
  },
};

/** The inputs of each credential type, in form order. */
export const CREDENTIAL_FIELDS: Readonly<Record<CredentialType, readonly CredentialField[]>> = {
  api_key: ["header", "api_key"],
  bearer: ["token"],
  basic: ["username", "password"],
  oauth_client_credentials: ["token_url", "client_id", "client_secret", "scope"],
  snowflake_key_pair: ["account", "user", "private_key"],
  datadog_keys: ["api_key", "app_key"],
  client_certificate: ["certificate", "private_key"],
};

/** The element id of a form field: `credential-type`, `credential-client-id`... */
export function fieldId(field: CredentialFormField): string {
  return `credential-${field.replaceAll("_", "-")}`;
}

export type CredentialFormValues = { type: string; expires: string } & Record<
  CredentialField,
  string
>;

export type CredentialFieldErrors = Partial<Record<CredentialFormField, string>>;

export type CredentialFormResult =
  | { ok: true; input: CredentialInput }
  | { ok: false; errors: CredentialFieldErrors };

/** An empty form with `type` chosen (the partner's usual type). */
export function emptyCredentialForm(type: string): CredentialFormValues {
  return {
    type,
    expires: "",
    header: "",
    api_key: "",
    app_key: "",
    token: "",
    username: "",
    password: "",
    token_url: "",
    client_id: "",
    client_secret: "",
    scope: "",
    account: "",
    user: "",
    certificate: "",
    private_key: "",
  };
}

/** The form after saving, or after the type changed: same type, every input blank. */
export function clearedCredentialForm(values: CredentialFormValues): CredentialFormValues {
  return emptyCredentialForm(values.type);
}

const CONTROL = /\p{Cc}/u;
const WHITESPACE = /\p{White_Space}/u;
const ALL_WHITESPACE = /^\p{White_Space}*$/u;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;

function utf8Bytes(value: string): number {
  return new TextEncoder().encode(value).length;
}

/** A one-line secret (password, client secret): not empty, no control characters. */
function lineSecretProblem(value: string): string | null {
  if (ALL_WHITESPACE.test(value)) return "Enter it";
  if (CONTROL.test(value)) return "Must be one line without control characters";
  if (utf8Bytes(value) > MAX_SECRET_BYTES) return `Must be at most ${MAX_SECRET_BYTES} bytes long`;
  return null;
}

/** A secret sent as one header value (token, key): also no spaces. */
function tokenSecretProblem(value: string): string | null {
  const problem = lineSecretProblem(value);
  if (problem) return problem;
  if (WHITESPACE.test(value)) return "Must not contain spaces";
  return null;
}

/** An unencrypted PKCS#8 PEM private key. */
function privateKeyProblem(value: string): string | null {
  if (ALL_WHITESPACE.test(value)) return "Paste the private key";
  if (value.includes("-----BEGIN ENCRYPTED PRIVATE KEY-----")) {
    return "Is an encrypted key; give the unencrypted PKCS#8 key (openssl pkcs8 -topk8 -nocrypt)";
  }
  if (!value.includes("-----BEGIN PRIVATE KEY-----") || !value.includes("-----END PRIVATE KEY-----")) {
    return "Is not a PKCS#8 PEM private key (-----BEGIN PRIVATE KEY-----)";
  }
  if (utf8Bytes(value) > MAX_PEM_BYTES) return "Must be at most 8 KiB long";
  return null;
}

function urlProblem(value: string): string | null {
  if (value === "") return "Enter the token URL";
  if ([...value].length > MAX_URL_CHARS) return `Must be at most ${MAX_URL_CHARS} characters long`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "Enter a full URL, such as https://idp.example.com/oauth2/token";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return `Uses ${url.protocol}; only http and https URLs are allowed`;
  }
  if (url.hostname === "") return "The URL has no host";
  if (url.username !== "" || url.password !== "") return "Must not carry a user name or password";
  return null;
}

function plainTextProblem(value: string, maxChars: number, missing: string): string | null {
  const problem = textProblem(value, maxChars);
  if (problem === null) return null;
  return problem === "must not be empty" ? missing : sentence(problem);
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The expiry's problem, if any: a real YYYY-MM-DD date, today (`today`, YYYY-MM-DD) or later. */
export function expiryProblem(value: string, today: string): string | null {
  const match = DATE.exec(value);
  if (!match) return "Write the date as YYYY-MM-DD";
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  if (
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day
  ) {
    return "Is not a real date";
  }
  if (value < today) return `Is in the past (today is ${today}); an expired credential cannot be stored`;
  return null;
}

/** Today's date in the user's time zone, as YYYY-MM-DD. */
export function localToday(now: Date = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/** Whitespace around a pasted token or key is never part of it. */
function trimmed(value: string): string {
  return value.replace(/^\p{White_Space}+|\p{White_Space}+$/gu, "");
}

/**
 * Checks the fields of the chosen type and, when all are fine, builds the CredentialInput to
 * send. Only the chosen type's fields are read. Tokens and keys lose surrounding whitespace
 * (pasting often adds some); passwords, client secrets and other text are kept exactly.
 */
export function validateCredentialForm(
  values: CredentialFormValues,
  allowed: readonly CredentialType[],
  today: string,
): CredentialFormResult {
  const errors: CredentialFieldErrors = {};
  const type = values.type;
  if (!isCredentialType(type) || !allowed.includes(type)) {
    return { ok: false, errors: { type: "Choose a credential type" } };
  }
  const check = (field: CredentialFormField, problem: string | null) => {
    if (problem !== null) errors[field] = problem;
  };

  const token = trimmed(values.token);
  const apiKey = trimmed(values.api_key);
  const appKey = trimmed(values.app_key);
  const tokenUrl = trimmed(values.token_url);
  const scope = ALL_WHITESPACE.test(values.scope) ? null : values.scope;

  for (const field of CREDENTIAL_FIELDS[type]) {
    switch (field) {
      case "header": {
        const problem = plainTextProblem(values.header, MAX_LABEL_CHARS, "Enter the header name");
        if (problem === null && !HEADER_NAME.test(values.header)) {
          check(field, "Is not an HTTP header name (letters, digits and -_.!#$%&'*+^`|~ only)");
        } else {
          check(field, problem);
        }
        break;
      }
      case "api_key":
        check(field, apiKey === "" ? "Enter the API key" : tokenSecretProblem(apiKey));
        break;
      case "app_key":
        if (appKey !== "") check(field, tokenSecretProblem(appKey));
        break;
      case "token":
        check(field, token === "" ? "Enter the token" : tokenSecretProblem(token));
        break;
      case "username": {
        const problem = plainTextProblem(values.username, MAX_NAME_CHARS, "Enter the user name");
        check(
          field,
          problem ?? (values.username.includes(":") ? "Must not contain ':' (basic auth splits on it)" : null),
        );
        break;
      }
      case "password":
        check(field, values.password === "" ? "Enter the password" : lineSecretProblem(values.password));
        break;
      case "token_url":
        check(field, urlProblem(tokenUrl));
        break;
      case "client_id":
        check(field, plainTextProblem(values.client_id, MAX_NAME_CHARS, "Enter the client id"));
        break;
      case "client_secret":
        check(
          field,
          values.client_secret === "" ? "Enter the client secret" : lineSecretProblem(values.client_secret),
        );
        break;
      case "scope":
        if (scope !== null) check(field, plainTextProblem(scope, MAX_URL_CHARS, "Enter the scope"));
        break;
      case "account":
        check(field, plainTextProblem(values.account, MAX_NAME_CHARS, "Enter the account"));
        break;
      case "user":
        check(field, plainTextProblem(values.user, MAX_NAME_CHARS, "Enter the user"));
        break;
      case "certificate":
        check(
          field,
          values.certificate.includes("-----BEGIN CERTIFICATE-----")
            ? null
            : "Is not a PEM certificate (no -----BEGIN CERTIFICATE----- line)",
        );
        break;
      case "private_key":
        check(field, privateKeyProblem(values.private_key));
        break;
    }
  }

  const expires = values.expires.trim();
  if (expires !== "") check("expires", expiryProblem(expires, today));

  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    input: {
      credential: credentialFields(type, values, { token, apiKey, appKey, tokenUrl, scope }),
      expires_on: expires === "" ? null : expires,
    },
  };
}

function credentialFields(
  type: CredentialType,
  values: CredentialFormValues,
  clean: { token: string; apiKey: string; appKey: string; tokenUrl: string; scope: string | null },
): CredentialInput["credential"] {
  switch (type) {
    case "api_key":
      return { type, header: values.header, key: clean.apiKey };
    case "bearer":
      return { type, token: clean.token };
    case "basic":
      return { type, username: values.username, password: values.password };
    case "oauth_client_credentials":
      return {
        type,
        token_url: clean.tokenUrl,
        client_id: values.client_id,
        client_secret: values.client_secret,
        scope: clean.scope,
      };
    case "snowflake_key_pair":
      return { type, account: values.account, user: values.user, private_key_pem: values.private_key };
    case "datadog_keys":
      return { type, api_key: clean.apiKey, app_key: clean.appKey === "" ? null : clean.appKey };
    case "client_certificate":
      return { type, cert_pem: values.certificate, key_pem: values.private_key };
  }
}

/** The fields of `type` plus the expiry, in form order (the first with an error gets the focus). */
export function formFields(type: string): CredentialFormField[] {
  const inputs = isCredentialType(type) ? CREDENTIAL_FIELDS[type] : [];
  return ["type", ...inputs, "expires"];
}

export function firstInvalidCredentialField(
  type: string,
  errors: CredentialFieldErrors,
): CredentialFormField | null {
  return formFields(type).find((field) => errors[field] !== undefined) ?? null;
}

// The backend's field names, mapped onto the form's.
const SERVER_FIELDS: Readonly<Record<string, CredentialFormField>> = {
  credential_type: "type",
  type: "type",
  header: "header",
  key: "api_key",
  api_key: "api_key",
  app_key: "app_key",
  token: "token",
  username: "username",
  password: "password",
  token_url: "token_url",
  client_id: "client_id",
  client_secret: "client_secret",
  scope: "scope",
  account: "account",
  user: "user",
  cert_pem: "certificate",
  private_key_pem: "private_key",
  key_pem: "private_key",
  expires_on: "expires",
};

/**
 * The form field a backend error is about, when that field is on the form for `type`; null
 * when the error concerns the credential as a whole (a failed verification, the keyring).
 */
export function credentialErrorField(type: string, error: CommandError): CredentialFormField | null {
  if (error.field === null) return null;
  const field = SERVER_FIELDS[error.field];
  if (field === undefined) return null;
  return formFields(type).includes(field) ? field : null;
}

/** The backend's message without its "field: " prefix, ready to show next to that field. */
export function credentialErrorMessage(error: CommandError): string {
  const prefix = error.field === null ? null : `${error.field}: `;
  const message =
    prefix !== null && error.message.startsWith(prefix)
      ? error.message.slice(prefix.length)
      : error.message;
  return sentence(message);
}
