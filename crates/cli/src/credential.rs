//! `ecosystem credential ...`: store, show, list and remove partners' credentials.
//!
//! The secret parts never come from the command line (where `ps` and shell history would
//! keep them): they are read from stdin when it is piped, one line each (the PEM private key
//! whole), or typed at a hidden prompt when stdin is a terminal. Everything that can be
//! checked is checked before a secret is read, and nothing is stored unless all of it is
//! valid. Only metadata is ever printed.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Subcommand};
use ecosystem_core::credentials::parse_expiry;
use ecosystem_core::{
    Credential, CredentialMeta, CredentialType, Error, PartnerKind, Registry, Result, Secret,
};
use zeroize::Zeroizing;

use crate::output::{self, Format};

#[derive(Debug, Subcommand)]
pub enum CredentialCommand {
    /// Store a partner's credential in the OS keyring, replacing any it had. Secrets are read
    /// from stdin (one line each; a PEM key whole) or from a hidden prompt, never from arguments.
    Set(Box<SetCredential>),
    /// Show what is recorded about a partner's credential (never the secret)
    Show {
        partner: String,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// List the recorded credentials (never the secrets)
    List {
        /// Only credentials that expire within DAYS, or have expired
        #[arg(long, value_name = "DAYS")]
        expiring_within: Option<u32>,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Remove a partner's credential from the OS keyring and the database
    Remove { partner: String },
}

#[derive(Debug, Args)]
pub struct SetCredential {
    pub partner: String,
    /// api_key, bearer, basic, oauth_client_credentials, snowflake_key_pair, datadog_keys or
    /// client_certificate; the partner's kind allows some of them
    #[arg(long = "type", value_name = "TYPE", value_parser = parse_type)]
    pub credential_type: CredentialType,
    /// basic: the user name
    #[arg(long, value_name = "U")]
    pub username: Option<String>,
    /// api_key: the header that carries the key [default: DD-API-KEY for datadog, else X-API-Key]
    #[arg(long, value_name = "H")]
    pub header: Option<String>,
    /// oauth_client_credentials: the token endpoint
    #[arg(long, value_name = "URL")]
    pub token_url: Option<String>,
    /// oauth_client_credentials: the client id
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// oauth_client_credentials: the scope to ask for
    #[arg(long, value_name = "S")]
    pub scope: Option<String>,
    /// snowflake_key_pair: the account identifier
    #[arg(long, value_name = "A")]
    pub account: Option<String>,
    /// snowflake_key_pair: the Snowflake user
    #[arg(long, value_name = "U")]
    pub user: Option<String>,
    /// client_certificate: the PEM certificate (chain) file; its key is read from stdin
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// When the platform stops accepting the credential
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date_text)]
    pub expires: Option<String>,
    /// Replace an existing credential without first testing the new one against the platform
    /// (for a platform that cannot be reached from here)
    #[arg(long)]
    pub skip_verify: bool,
}

fn parse_type(s: &str) -> std::result::Result<CredentialType, String> {
    CredentialType::parse_field("--type", s).map_err(|e| match e {
        Error::Invalid { message, .. } => message,
        other => other.to_string(),
    })
}

fn parse_date_text(s: &str) -> std::result::Result<String, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .filter(|_| s.len() == 10)
        .map(|_| s.to_string())
        .ok_or_else(|| format!("{s:?} is not a valid date; write YYYY-MM-DD"))
}

impl CredentialCommand {
    pub fn run(self, registry: &mut Registry) -> Result<()> {
        match self {
            CredentialCommand::Set(s) => set(registry, *s),
            CredentialCommand::Show { partner, format } => {
                let meta = registry.credential_meta(&partner)?.ok_or_else(|| {
                    Error::NotFound(format!(
                        "partner {partner:?} has no credential; set one with `ecosystem credential set`"
                    ))
                })?;
                match format {
                    Format::Json => output::json(&meta),
                    Format::Table => {
                        let today = registry.clock().today();
                        for (k, v) in [
                            ("partner", meta.partner.clone()),
                            ("type", meta.credential_type.to_string()),
                            ("label", output::or_dash(meta.label.as_deref())),
                            ("expires", expiry_text(&meta, today)),
                            ("updated", meta.updated_at.clone()),
                        ] {
                            println!("{k:<8} {v}");
                        }
                        Ok(())
                    }
                }
            }
            CredentialCommand::List {
                expiring_within,
                format,
            } => {
                let list = match expiring_within {
                    Some(days) => registry.expiring_credentials(days)?,
                    None => registry.credentials()?,
                };
                match format {
                    Format::Json => output::json(&list),
                    Format::Table => {
                        let today = registry.clock().today();
                        output::table(
                            &["PARTNER", "TYPE", "LABEL", "EXPIRES", "UPDATED"],
                            &list
                                .iter()
                                .map(|m| {
                                    vec![
                                        m.partner.clone(),
                                        m.credential_type.to_string(),
                                        output::or_dash(m.label.as_deref()),
                                        expiry_text(m, today),
                                        m.updated_at.clone(),
                                    ]
                                })
                                .collect::<Vec<_>>(),
                        );
                        Ok(())
                    }
                }
            }
            CredentialCommand::Remove { partner } => {
                registry.remove_credential(&partner)?;
                println!("removed the credential of partner {partner:?}");
                Ok(())
            }
        }
    }
}

/// "2027-01-31 (in 66 days)", "2026-11-20 (expired 6 days ago)" or "-".
fn expiry_text(meta: &CredentialMeta, today: NaiveDate) -> String {
    let Some(text) = meta.expires_on.as_deref() else {
        return "-".into();
    };
    match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(date) => match (date - today).num_days() {
            0 => format!("{text} (today)"),
            n if n > 0 => format!("{text} (in {n} days)"),
            n => format!("{text} (expired {} days ago)", -n),
        },
        Err(_) => text.to_string(),
    }
}

fn set(registry: &mut Registry, s: SetCredential) -> Result<()> {
    // Everything that needs no secret is checked first: a mistake costs no typing, and
    // nothing is read from stdin for a request that would be refused anyway.
    let partner = registry.partner(&s.partner)?;
    let kind = partner.kind;
    s.credential_type.check_fits("--type", kind)?;
    if let Some(text) = &s.expires {
        parse_expiry("--expires", text, registry.clock().today())?;
    }
    let plan = Plan::for_request(&s, kind)?;
    let mut secrets = SecretInput::open()?;
    let credential = plan.read(&mut secrets)?;
    secrets.finish()?;
    credential.validate()?;
    // A credential that replaces another is tried against the platform first (unless told
    // not to); a first one is stored as given (there is nothing to lose), and `ecosystem
    // check` tries it.
    let meta = if !s.skip_verify && registry.credential_meta(&s.partner)?.is_some() {
        let stored_check = registry.custom_check(&s.partner)?;
        registry.rotate_credential(&s.partner, &credential, s.expires.as_deref(), |new| {
            crate::check::verify(&partner, stored_check, new)
        })?
    } else {
        registry.set_credential(&s.partner, &credential, s.expires.as_deref())?
    };
    let backend = registry.credential_store()?.describe().to_string();
    println!(
        "stored the {} credential of partner {:?} in the {backend}{}{}",
        meta.credential_type,
        meta.partner,
        meta.label
            .as_deref()
            .map(|l| format!(" ({l})"))
            .unwrap_or_default(),
        meta.expires_on
            .as_deref()
            .map(|e| format!(", expires {e}"))
            .unwrap_or_default(),
    );
    Ok(())
}

/// The non-secret parts of the credential to build, checked against its type.
enum Plan {
    ApiKey {
        header: String,
    },
    Bearer,
    Basic {
        username: String,
    },
    Oauth {
        token_url: String,
        client_id: String,
        scope: Option<String>,
    },
    SnowflakeKeyPair {
        account: String,
        user: String,
    },
    DatadogKeys,
    ClientCertificate {
        cert_pem: String,
    },
}

impl Plan {
    fn for_request(s: &SetCredential, kind: PartnerKind) -> Result<Plan> {
        use CredentialType as T;
        let t = s.credential_type;
        let given: [(&str, bool, &[CredentialType]); 8] = [
            ("--username", s.username.is_some(), &[T::Basic]),
            ("--header", s.header.is_some(), &[T::ApiKey]),
            (
                "--token-url",
                s.token_url.is_some(),
                &[T::OauthClientCredentials],
            ),
            (
                "--client-id",
                s.client_id.is_some(),
                &[T::OauthClientCredentials],
            ),
            ("--scope", s.scope.is_some(), &[T::OauthClientCredentials]),
            ("--account", s.account.is_some(), &[T::SnowflakeKeyPair]),
            ("--user", s.user.is_some(), &[T::SnowflakeKeyPair]),
            ("--cert", s.cert.is_some(), &[T::ClientCertificate]),
        ];
        if let Some((flag, ..)) = given
            .iter()
            .find(|(_, present, types)| *present && !types.contains(&t))
        {
            return Err(Error::invalid(
                *flag,
                format!("does not apply to --type {t}"),
            ));
        }
        let required = |flag: &str, value: &Option<String>| {
            value
                .clone()
                .ok_or_else(|| Error::invalid(flag, format!("is required with --type {t}")))
        };
        Ok(match t {
            T::ApiKey => Plan::ApiKey {
                header: s.header.clone().unwrap_or_else(|| {
                    if kind == PartnerKind::Datadog {
                        "DD-API-KEY".into()
                    } else {
                        "X-API-Key".into()
                    }
                }),
            },
            T::Bearer => Plan::Bearer,
            T::Basic => Plan::Basic {
                username: required("--username", &s.username)?,
            },
            T::OauthClientCredentials => Plan::Oauth {
                token_url: required("--token-url", &s.token_url)?,
                client_id: required("--client-id", &s.client_id)?,
                scope: s.scope.clone(),
            },
            T::SnowflakeKeyPair => Plan::SnowflakeKeyPair {
                account: required("--account", &s.account)?,
                user: required("--user", &s.user)?,
            },
            T::DatadogKeys => Plan::DatadogKeys,
            T::ClientCertificate => {
                let path = s.cert.as_ref().ok_or_else(|| {
                    Error::invalid("--cert", format!("is required with --type {t}"))
                })?;
                let cert_pem = std::fs::read_to_string(path).map_err(|e| {
                    Error::invalid("--cert", format!("cannot read {}: {e}", path.display()))
                })?;
                Plan::ClientCertificate { cert_pem }
            }
        })
    }

    fn read(self, input: &mut SecretInput) -> Result<Credential> {
        Ok(match self {
            Plan::ApiKey { header } => Credential::ApiKey {
                header,
                key: input.line("key", "API key", true)?,
            },
            Plan::Bearer => Credential::Bearer {
                token: input.line("token", "token", true)?,
            },
            Plan::Basic { username } => Credential::Basic {
                username,
                password: input.line("password", "password", true)?,
            },
            Plan::Oauth {
                token_url,
                client_id,
                scope,
            } => Credential::OauthClientCredentials {
                token_url,
                client_id,
                scope,
                client_secret: input.line("client_secret", "client secret", true)?,
            },
            Plan::SnowflakeKeyPair { account, user } => Credential::SnowflakeKeyPair {
                account,
                user,
                private_key_pem: input.pem("private_key_pem", "PKCS#8 private key")?,
            },
            Plan::DatadogKeys => {
                let api_key = input.line("api_key", "Datadog API key", true)?;
                let app_key =
                    input.line("app_key", "Datadog application key (Enter for none)", false)?;
                Credential::DatadogKeys {
                    api_key,
                    app_key: (!app_key.is_empty()).then_some(app_key),
                }
            }
            Plan::ClientCertificate { cert_pem } => Credential::ClientCertificate {
                cert_pem,
                key_pem: input.pem("key_pem", "PEM private key")?,
            },
        })
    }
}

/// Where secrets come from: all of piped stdin (wiped when dropped), or a hidden prompt.
enum SecretInput {
    Piped {
        text: Zeroizing<String>,
        /// How many lines have been taken.
        taken: usize,
        whole: bool,
    },
    Terminal,
}

impl SecretInput {
    fn open() -> Result<SecretInput> {
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            return Ok(SecretInput::Terminal);
        }
        let mut text = Zeroizing::new(String::new());
        stdin
            .lock()
            .read_to_string(&mut text)
            .map_err(|e| Error::Io {
                context: "reading the secret from stdin".into(),
                source: e,
            })?;
        Ok(SecretInput::Piped {
            text,
            taken: 0,
            whole: false,
        })
    }

    /// The next one-line secret: the next line of stdin, or typed at a hidden prompt.
    fn line(&mut self, field: &str, what: &str, required: bool) -> Result<Secret> {
        let value = match self {
            SecretInput::Terminal => Secret::new(
                rpassword::prompt_password(format!("{what}: ")).map_err(|e| Error::Io {
                    context: format!("reading the {what} from the terminal"),
                    source: e,
                })?,
            ),
            SecretInput::Piped { text, taken, .. } => {
                let value = text.lines().nth(*taken).unwrap_or("");
                *taken += 1;
                Secret::new(value)
            }
        };
        if required && value.expose().trim().is_empty() {
            return Err(Error::invalid(
                field,
                match self {
                    SecretInput::Terminal => format!("the {what} is empty"),
                    SecretInput::Piped { taken, .. } => {
                        format!("the {what} is empty (expected on line {taken} of stdin)")
                    }
                },
            ));
        }
        Ok(value)
    }

    /// A PEM private key: all of stdin. Not read from a terminal, where it would be echoed
    /// and a hidden prompt takes only one line.
    fn pem(&mut self, field: &str, what: &str) -> Result<Secret> {
        match self {
            SecretInput::Terminal => Err(Error::invalid(
                field,
                format!("pipe the {what} on stdin (e.g. `< rsa_key.p8`); it is not read from a terminal"),
            )),
            SecretInput::Piped { text, whole, .. } => {
                *whole = true;
                if text.trim().is_empty() {
                    return Err(Error::invalid(
                        field,
                        format!("the {what} is empty (nothing on stdin)"),
                    ));
                }
                Ok(Secret::new(text.trim()))
            }
        }
    }

    /// Refuses stdin with more lines than were asked for: a sign of a mix-up (a PEM file
    /// given for a token, two tokens), and better refused than half-used.
    fn finish(&self) -> Result<()> {
        if let SecretInput::Piped {
            text,
            taken,
            whole: false,
        } = self
        {
            let extra = text
                .lines()
                .skip(*taken)
                .filter(|l| !l.trim().is_empty())
                .count();
            if extra > 0 {
                return Err(Error::invalid(
                    "stdin",
                    format!(
                        "has {extra} more line(s) than expected ({taken}); give each secret on its own line and nothing else"
                    ),
                ));
            }
        }
        Ok(())
    }
}
