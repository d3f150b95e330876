import { describe, expect, it } from "vitest";
import {
  CREDENTIAL_FIELDS,
  CREDENTIAL_TYPE_LABELS,
  FIELD_SPECS,
  clearedCredentialForm,
  credentialErrorField,
  credentialErrorMessage,
  emptyCredentialForm,
  expiryProblem,
  fieldId,
  firstInvalidCredentialField,
  localToday,
  validateCredentialForm,
  type CredentialFieldErrors,
  type CredentialFormValues,
} from "./credentialForm";
import type { CredentialInput, CredentialType } from "./types";

const TODAY = "2026-11-26";
const ALL: CredentialType[] = Object.keys(CREDENTIAL_TYPE_LABELS) as CredentialType[];
const PLANTED = "planted-s3cret-value";
const PEM_KEY = `-----BEGIN PRIVATE KEY-----\nMIIE${PLANTED}\n-----END PRIVATE KEY-----\n`;
const PEM_CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

function form(type: string, changes: Partial<CredentialFormValues> = {}): CredentialFormValues {
  return { ...emptyCredentialForm(type), ...changes };
}

function accepted(values: CredentialFormValues, allowed: CredentialType[] = ALL): CredentialInput {
  const result = validateCredentialForm(values, allowed, TODAY);
  if (!result.ok) throw new Error(`refused: ${JSON.stringify(result.errors)}`);
  return result.input;
}

function refused(values: CredentialFormValues, allowed: CredentialType[] = ALL): CredentialFieldErrors {
  const result = validateCredentialForm(values, allowed, TODAY);
  if (result.ok) throw new Error("accepted");
  return result.errors;
}

describe("a filled-in credential form", () => {
  it("becomes a bearer CredentialInput with the token trimmed of pasted whitespace", () => {
    expect(accepted(form("bearer", { token: `  ${PLANTED}\n` }))).toEqual({
      credential: { type: "bearer", token: PLANTED },
      expires_on: null,
    });
  });

  it("carries the expiry date through when one is given", () => {
    expect(accepted(form("bearer", { token: PLANTED, expires: "2027-01-31" })).expires_on).toBe(
      "2027-01-31",
    );
  });

  it("maps every type onto the fields the backend expects, reading only that type's inputs", () => {
    const everything = form("", {
      header: "X-API-Key",
      api_key: "key-1",
      app_key: "app-1",
      token: "tok-1",
      username: "alice",
      password: "pass word with spaces",
      token_url: "https://idp.example.com/token",
      client_id: "client-1",
      client_secret: "shh",
      scope: "all-apis",
      account: "ORG-ACME",
      user: "SVC",
      certificate: PEM_CERT,
      private_key: PEM_KEY,
    });
    const expected: Record<CredentialType, CredentialInput["credential"]> = {
      api_key: { type: "api_key", header: "X-API-Key", key: "key-1" },
      bearer: { type: "bearer", token: "tok-1" },
      basic: { type: "basic", username: "alice", password: "pass word with spaces" },
      oauth_client_credentials: {
        type: "oauth_client_credentials",
        token_url: "https://idp.example.com/token",
        client_id: "client-1",
        client_secret: "shh",
        scope: "all-apis",
      },
      snowflake_key_pair: {
        type: "snowflake_key_pair",
        account: "ORG-ACME",
        user: "SVC",
        private_key_pem: PEM_KEY,
      },
      datadog_keys: { type: "datadog_keys", api_key: "key-1", app_key: "app-1" },
      client_certificate: { type: "client_certificate", cert_pem: PEM_CERT, key_pem: PEM_KEY },
    };
    for (const type of ALL) {
      expect(accepted({ ...everything, type }).credential).toEqual(expected[type]);
    }
  });

  it("sends a blank optional scope or application key as null", () => {
    const oauth = accepted(
      form("oauth_client_credentials", {
        token_url: "https://idp.example.com/token",
        client_id: "c",
        client_secret: "s",
        scope: "  ",
      }),
    );
    expect(oauth.credential).toMatchObject({ scope: null });
    expect(accepted(form("datadog_keys", { api_key: "k" })).credential).toEqual({
      type: "datadog_keys",
      api_key: "k",
      app_key: null,
    });
  });
});

describe("a credential form with mistakes", () => {
  it("refuses a type the partner's kind does not take", () => {
    expect(refused(form("basic", { username: "a", password: "b" }), ["bearer"])).toEqual({
      type: "Choose a credential type",
    });
    expect(refused(form(""))).toEqual({ type: "Choose a credential type" });
  });

  it("names each missing required field of the chosen type and nothing else", () => {
    for (const type of ALL) {
      const errors = refused(form(type));
      const required = CREDENTIAL_FIELDS[type].filter((f) => !FIELD_SPECS[f].optional);
      expect(Object.keys(errors).sort()).toEqual([...required].sort());
    }
  });

  it("refuses a token with a space inside or a control character without quoting it", () => {
    const spaced = refused(form("bearer", { token: `${PLANTED} x` }));
    expect(spaced.token).toBe("Must not contain spaces");
    const control = refused(form("basic", { username: "a", password: `${PLANTED}\u0007` }));
    expect(control.password).toBe("Must be one line without control characters");
    for (const message of [...Object.values(spaced), ...Object.values(control)]) {
      expect(message).not.toContain(PLANTED);
    }
  });

  it("refuses a secret longer than the keyring accepts", () => {
    expect(refused(form("bearer", { token: "x".repeat(2049) })).token).toMatch(/at most 2048 bytes/);
    expect(accepted(form("bearer", { token: "x".repeat(2048) })).credential.type).toBe("bearer");
  });

  it("checks the header name, the user name's colon and the token URL", () => {
    expect(refused(form("api_key", { header: "X Key", api_key: "k" })).header).toMatch(
      /not an HTTP header name/,
    );
    expect(refused(form("basic", { username: "a:b", password: "p" })).username).toMatch(/':'/);
    const oauth = (token_url: string) =>
      refused(form("oauth_client_credentials", { token_url, client_id: "c", client_secret: "s" }))
        .token_url;
    expect(oauth("ftp://idp.example.com")).toMatch(/only http and https/);
    expect(oauth("not a url")).toMatch(/full URL/);
    expect(oauth("https://u:p@idp.example.com")).toMatch(/user name or password/);
  });

  it("refuses PEM text that is not an unencrypted PKCS#8 key or a certificate", () => {
    const encrypted = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nx\n-----END ENCRYPTED PRIVATE KEY-----";
    expect(
      refused(form("snowflake_key_pair", { account: "A", user: "U", private_key: encrypted }))
        .private_key,
    ).toMatch(/encrypted key/);
    expect(
      refused(form("snowflake_key_pair", { account: "A", user: "U", private_key: PLANTED }))
        .private_key,
    ).toMatch(/not a PKCS#8 PEM private key/);
    expect(
      refused(form("client_certificate", { certificate: "nope", private_key: PEM_KEY })).certificate,
    ).toMatch(/not a PEM certificate/);
  });

  it("refuses an expiry that is not a real date or is already past", () => {
    expect(refused(form("bearer", { token: "t", expires: "2027-02-30" })).expires).toBe(
      "Is not a real date",
    );
    expect(refused(form("bearer", { token: "t", expires: "31/01/2027" })).expires).toMatch(
      /YYYY-MM-DD/,
    );
    expect(refused(form("bearer", { token: "t", expires: "2026-11-25" })).expires).toMatch(
      /in the past/,
    );
    expect(expiryProblem(TODAY, TODAY)).toBeNull();
  });

  it("points the focus at the first field in form order that has an error", () => {
    const errors = refused(form("oauth_client_credentials", { expires: "bad" }));
    expect(firstInvalidCredentialField("oauth_client_credentials", errors)).toBe("token_url");
    expect(firstInvalidCredentialField("bearer", {})).toBeNull();
  });
});

describe("the form's ids and reset", () => {
  it("gives each field the id the page and the end-to-end tests use", () => {
    expect(fieldId("type")).toBe("credential-type");
    expect(fieldId("client_secret")).toBe("credential-client-secret");
    expect(fieldId("private_key")).toBe("credential-private-key");
    expect(fieldId("expires")).toBe("credential-expires");
  });

  it("marks every secret input as secret so it is masked", () => {
    for (const field of ["api_key", "app_key", "token", "password", "client_secret", "private_key"] as const) {
      expect(FIELD_SPECS[field].secret).toBe(true);
    }
    for (const field of ["header", "username", "client_id", "account", "user", "certificate"] as const) {
      expect(FIELD_SPECS[field].secret).toBe(false);
    }
  });

  it("clears every input after saving but keeps the chosen type", () => {
    const cleared = clearedCredentialForm(form("bearer", { token: PLANTED, expires: "2027-01-01" }));
    expect(cleared).toEqual(emptyCredentialForm("bearer"));
    expect(Object.values(cleared)).not.toContain(PLANTED);
  });

  it("writes today's date in the local calendar", () => {
    expect(localToday(new Date(2026, 0, 5, 23, 59))).toBe("2026-01-05");
  });
});

describe("the backend's refusals", () => {
  it("are placed on the form field they name, in the form's own words", () => {
    const error = { code: "invalid", message: "private_key_pem: is not a PKCS#8 PEM private key", field: "private_key_pem" };
    expect(credentialErrorField("snowflake_key_pair", error)).toBe("private_key");
    expect(credentialErrorMessage(error)).toBe("Is not a PKCS#8 PEM private key");
    const expiry = { code: "invalid", message: "expires_on: 2020-01-01 is in the past", field: "expires_on" };
    expect(credentialErrorField("bearer", expiry)).toBe("expires");
  });

  it("concern the whole form when verification failed or the field is not shown", () => {
    const rotation = {
      code: "invalid",
      message: "credential: the new bearer credential failed verification, so the old bearer one stays in place: credentials_rejected: 401",
      field: "credential",
    };
    expect(credentialErrorField("bearer", rotation)).toBeNull();
    expect(credentialErrorMessage(rotation)).toMatch(/^The new bearer credential failed verification/);
    const other = { code: "invalid", message: "username: bad", field: "username" };
    expect(credentialErrorField("bearer", other)).toBeNull();
    expect(credentialErrorField("bearer", { code: "internal", message: "x", field: null })).toBeNull();
  });
});
