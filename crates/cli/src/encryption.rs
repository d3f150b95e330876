//! `ecosystem db encrypt` and `ecosystem db key export|import|status`: encryption at rest
//! (docs/ENCRYPTION.md). The database key lives in the OS keyring; these commands encrypt a
//! plain database now, and export the key for recovery or import it back.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use ecosystem_core::encryption::{self, DatabaseKey, FileState};
use ecosystem_core::{Error, Registry, Result, Secret};
use serde::Serialize;
use serde_json::json;

use crate::output::Format;

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Write the database key to a new file (mode 0600) for recovery; `--output -` prints it.
    /// The export is recorded in the audit log (without the key)
    Export {
        /// A file that does not exist yet (never overwritten), or `-` for standard output
        #[arg(long, value_name = "FILE")]
        output: PathBuf,
    },
    /// Store the key from an export file in the OS keyring, once it is shown to open the
    /// database
    Import {
        #[arg(long, value_name = "FILE")]
        input: PathBuf,
        /// Replace a different key the keyring already holds
        #[arg(long)]
        force: bool,
    },
    /// Whether the database is encrypted, whether the keyring holds a key that opens it, and
    /// the SQLCipher version
    Status {
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

fn state_name(state: FileState) -> &'static str {
    match state {
        FileState::Missing => "missing",
        FileState::Plain => "plain",
        FileState::Encrypted => "encrypted",
        FileState::NotADatabase => "not a database",
    }
}

/// `ecosystem db encrypt`: encrypts a plain database now (opening it would do the same).
pub fn encrypt(db: &Path, format: Format) -> Result<ExitCode> {
    #[derive(Serialize)]
    struct Encrypted {
        path: String,
        encrypted_now: bool,
        #[serde(flatten)]
        report: Option<encryption::EncryptReport>,
    }
    let report = match FileState::of(db)? {
        FileState::Missing => {
            return Err(Error::NotFound(format!(
                "{}: no such database file",
                db.display()
            )))
        }
        FileState::NotADatabase => {
            return Err(Error::Database {
                path: db.to_path_buf(),
                message:
                    "is not an Ecosystem database (neither a SQLite file nor an encrypted one)"
                        .into(),
            })
        }
        FileState::Encrypted => None,
        FileState::Plain => {
            let key = encryption::load_or_create_key(db)?;
            encryption::encrypt_plain_file(db, &key)?
        }
    };
    // Whatever happened, the production open must now work (it checks the key).
    drop(Registry::open(db)?);
    match format {
        Format::Json => crate::output::json(&Encrypted {
            path: db.display().to_string(),
            encrypted_now: report.is_some(),
            report: report.clone(),
        })?,
        Format::Table => match &report {
            Some(r) => println!(
                "encrypted {} ({} tables, {} rows, schema version {}); the key is in the OS keyring: export it with `ecosystem db key export --output FILE`",
                db.display(),
                r.tables,
                r.rows,
                r.schema_version
            ),
            None => println!("{} is already encrypted", db.display()),
        },
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_key(db: &Path, cmd: KeyCommand) -> Result<ExitCode> {
    match cmd {
        KeyCommand::Export { output } => export(db, &output),
        KeyCommand::Import { input, force } => import(db, &input, force),
        KeyCommand::Status { format } => status(db, format),
    }
}

fn export(db: &Path, output: &Path) -> Result<ExitCode> {
    let key = encryption::load_key()?.ok_or_else(|| {
        Error::NotFound(
            "the OS keyring holds no database key (one is created when a database is first opened)"
                .into(),
        )
    })?;
    if FileState::of(db)? == FileState::Missing {
        return Err(Error::NotFound(format!(
            "{}: no such database file (the export is recorded in its audit log)",
            db.display()
        )));
    }
    // Opening proves the key is the database's, and the audit entry goes into it.
    let mut registry = Registry::open(db)?;
    let text = key.export_text();
    let to_stdout = output == Path::new("-");
    if to_stdout {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|source| Error::Io {
                context: "writing the key to standard output".into(),
                source,
            })?;
    } else {
        write_new_private_file(output, text.as_bytes())?;
    }
    let to = if to_stdout {
        "standard output".to_string()
    } else {
        output.display().to_string()
    };
    encryption::audit_key_event(&mut registry, "database_key_exported", &json!({ "to": to }))?;
    eprintln!(
        "exported the database key to {to}{}; keep it offline: with it, anyone who has the database file can read it",
        if to_stdout { "" } else { " (mode 0600)" }
    );
    Ok(ExitCode::SUCCESS)
}

/// Creates `path` (it must not exist) readable by its owner only, and writes `bytes` to it.
fn write_new_private_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::Conflict(format!(
                "output: {} already exists; name a new file (an export never overwrites one)",
                path.display()
            ))
        } else {
            Error::Io {
                context: format!("creating {}", path.display()),
                source: e,
            }
        }
    })?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|source| Error::Io {
            context: format!("writing {}", path.display()),
            source,
        })
}

fn import(db: &Path, input: &Path, force: bool) -> Result<ExitCode> {
    let text =
        Secret::new(std::fs::read_to_string(input).map_err(|e| {
            Error::invalid("input", format!("cannot read {}: {e}", input.display()))
        })?);
    let key = DatabaseKey::from_export(text.expose())
        .map_err(|m| Error::invalid("input", format!("{}: {m}", input.display())))?;
    let existing = encryption::load_key()?;
    if existing.as_ref() == Some(&key) {
        println!("the OS keyring already holds this database key; nothing to do");
        return Ok(ExitCode::SUCCESS);
    }
    if existing.is_some() && !force {
        return Err(Error::Conflict(
            "the OS keyring already holds a different database key; pass --force to replace it \
             (the current key is then gone unless it was exported)"
                .into(),
        ));
    }
    let state = FileState::of(db)?;
    match state {
        FileState::Encrypted => {
            if !encryption::key_opens(db, &key)? {
                return Err(Error::Conflict(format!(
                    "the key in {} does not open {}; nothing was stored",
                    input.display(),
                    db.display()
                )));
            }
        }
        FileState::NotADatabase => {
            return Err(Error::Database {
                path: db.to_path_buf(),
                message: "is not an Ecosystem database, so the key cannot be checked against it; nothing was stored".into(),
            })
        }
        FileState::Missing | FileState::Plain => {}
    }
    encryption::store_key(&key)?;
    if state == FileState::Encrypted {
        let mut registry = Registry::open(db)?;
        encryption::audit_key_event(
            &mut registry,
            "database_key_imported",
            &json!({ "from": input.display().to_string(), "replaced": existing.is_some() }),
        )?;
        println!(
            "stored the database key in the OS keyring; it opens {}",
            db.display()
        );
    } else {
        println!(
            "stored the database key in the OS keyring ({} is {}: it is encrypted with this key when next opened)",
            db.display(),
            state_name(state)
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn status(db: &Path, format: Format) -> Result<ExitCode> {
    #[derive(Serialize)]
    struct Status {
        path: String,
        file: &'static str,
        key_in_keyring: bool,
        /// Whether that key opens the file (`null` unless the file is encrypted).
        key_opens_database: Option<bool>,
        cipher_version: String,
    }
    let state = FileState::of(db)?;
    let key = encryption::load_key()?;
    let opens = match (&key, state) {
        (Some(k), FileState::Encrypted) => Some(encryption::key_opens(db, k)?),
        (None, FileState::Encrypted) => Some(false),
        _ => None,
    };
    let status = Status {
        path: db.display().to_string(),
        file: state_name(state),
        key_in_keyring: key.is_some(),
        key_opens_database: opens,
        cipher_version: encryption::cipher_version()?,
    };
    match format {
        Format::Json => crate::output::json(&status)?,
        Format::Table => {
            println!("database        {}", status.path);
            println!("file            {}", status.file);
            println!(
                "key in keyring  {}",
                if status.key_in_keyring { "yes" } else { "no" }
            );
            if let Some(o) = opens {
                println!("key opens it    {}", if o { "yes" } else { "no" });
            }
            println!("SQLCipher       {}", status.cipher_version);
        }
    }
    Ok(ExitCode::SUCCESS)
}
