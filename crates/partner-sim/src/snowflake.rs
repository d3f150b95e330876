//! Snowflake SQL API v2 simulator (`specs/snowflake/sqlapi.yaml`: SubmitStatement,
//! GetStatementStatus, CancelStatement; ResultSet, QueryStatus, QueryFailureStatus,
//! CancelStatus), plus the wire details the spec omits (PLATFORMS.md §2): key-pair JWT claims,
//! partitions N ≥ 1 answering `{"data": [...]}` only, lower-case `rowType.type`.
//!
//! Auth: `Authorization: Bearer <token>` and `X-Snowflake-Authorization-Token-Type`
//! (`KEYPAIR_JWT`, `OAUTH`, `PROGRAMMATIC_ACCESS_TOKEN`; when absent the token is tried as
//! each). KEYPAIR_JWT tokens are really verified: RS256 signature against the configured public
//! key, `iss = "<ACCOUNT>.<USER>.SHA256:<base64 sha256 of the DER SubjectPublicKeyInfo>"`,
//! `sub = "<ACCOUNT>.<USER>"` (upper-case), `exp` in the future and at most `iat + 3600`.
//! A bad JWT → 401 `{"code":"390144","message":"JWT token is invalid."}`; the reason is in the
//! `X-Partner-Sim-Reason` header. `User-Agent` is required (the spec marks it so).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::{DecodePublicKey, EncodePublicKey};
use rsa::signature::Verifier;
use rsa::RsaPublicKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::check::{self, Kind, Query};
use crate::clock::SharedClock;
use crate::config::{SimConfig, SnowflakeConfig};
use crate::errors::ApiError;
use crate::snowflake_sql::{self, ResultTable, Session, SqlError};
use crate::{Platform, SimError};

const P: Platform = Platform::Snowflake;
const MAX_JWT_LIFETIME_S: i64 = 3600;

fn bad(detail: String) -> ApiError {
    P.bad_request(&detail)
}

#[derive(Debug, Clone)]
struct Statement {
    handle: String,
    created_ms: i64,
    ready_ms: i64,
    canceled: bool,
    request_id: Option<String>,
    outcome: Result<ResultTable, SqlError>,
}

#[derive(Debug)]
struct Sf {
    cfg: SnowflakeConfig,
    clock: SharedClock,
    key: VerifyingKey<Sha256>,
    /// `SHA256:<base64>` of the configured public key.
    fingerprint: String,
    statements: Mutex<HashMap<String, Statement>>,
    request_ids: Mutex<HashMap<String, String>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `SHA256:<base64(sha256(DER SubjectPublicKeyInfo))>` of a PEM public key, as
/// `DESC USER` shows it in `RSA_PUBLIC_KEY_FP`.
pub fn public_key_fingerprint(pem: &str) -> Result<String, String> {
    let key = RsaPublicKey::from_public_key_pem(pem.trim()).map_err(|e| e.to_string())?;
    let der = key.to_public_key_der().map_err(|e| e.to_string())?;
    Ok(format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(der.as_bytes()))
    ))
}

/// The Snowflake router.
pub(crate) fn router(config: &SimConfig) -> Result<Router, SimError> {
    let cfg = config.snowflake.clone();
    let key = RsaPublicKey::from_public_key_pem(cfg.public_key_pem.trim())
        .map_err(|e| SimError::Config(format!("snowflake.public_key_pem: {e}")))?;
    let fingerprint = public_key_fingerprint(&cfg.public_key_pem)
        .map_err(|e| SimError::Config(format!("snowflake.public_key_pem: {e}")))?;
    let sf = Arc::new(Sf {
        cfg,
        clock: config.clock.clone(),
        key: VerifyingKey::<Sha256>::new(key),
        fingerprint,
        statements: Mutex::new(HashMap::new()),
        request_ids: Mutex::new(HashMap::new()),
    });
    Ok(Router::new()
        .route("/api/v2/statements", post(submit))
        .route("/api/v2/statements/{handle}", get(status))
        .route("/api/v2/statements/{handle}/cancel", post(cancel))
        .route_layer(axum::middleware::from_fn_with_state(sf.clone(), auth))
        .fallback(unknown_path)
        .method_not_allowed_fallback(wrong_method)
        .with_state(sf))
}

async fn unknown_path() -> ApiError {
    bad(
        "unknown path: the SQL API v2 serves /api/v2/statements[/{statementHandle}[/cancel]]"
            .into(),
    )
}

async fn wrong_method(method: Method) -> ApiError {
    bad(format!("method {method} is not allowed on this path"))
}

fn unauthorized(code: &str, message: &str, reason: &str) -> Response {
    ApiError::new(401, json!({"code": code, "message": message}))
        .header("x-partner-sim-reason", reason.to_string())
        .into_response()
}

async fn auth(State(sf): State<Arc<Sf>>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    if check::header(headers, "user-agent").is_none() {
        return bad(
            "header User-Agent: required, missing (sqlapi.yaml parameter userAgent)".into(),
        )
        .into_response();
    }
    let Some(token) = check::bearer(headers) else {
        return unauthorized(
            "390101",
            "Authorization header not found in the request.",
            "no Bearer token",
        );
    };
    let kind = check::header(headers, "x-snowflake-authorization-token-type");
    let verdict = match kind {
        Some("KEYPAIR_JWT") => sf
            .verify_jwt(token)
            .map_err(|r| ("390144", "JWT token is invalid.", r)),
        Some("OAUTH") => sf
            .cfg
            .oauth_tokens
            .iter()
            .any(|t| t == token)
            .then_some(())
            .ok_or((
                "390303",
                "Invalid OAuth access token.",
                "token not configured".to_string(),
            )),
        Some("PROGRAMMATIC_ACCESS_TOKEN") => {
            sf.cfg.pats.iter().any(|t| t == token).then_some(()).ok_or((
                "390303",
                "Invalid programmatic access token.",
                "token not configured".to_string(),
            ))
        }
        Some(other) => {
            return bad(format!("header X-Snowflake-Authorization-Token-Type: {other:?} is not one of KEYPAIR_JWT, OAUTH, PROGRAMMATIC_ACCESS_TOKEN")).into_response();
        }
        None if sf
            .cfg
            .oauth_tokens
            .iter()
            .chain(&sf.cfg.pats)
            .any(|t| t == token) =>
        {
            Ok(())
        }
        None => sf
            .verify_jwt(token)
            .map_err(|r| ("390144", "JWT token is invalid.", r)),
    };
    match verdict {
        Ok(()) => next.run(req).await,
        Err((code, message, reason)) => unauthorized(code, message, &reason),
    }
}

impl Sf {
    fn verify_jwt(&self, token: &str) -> Result<(), String> {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let parts: Vec<&str> = token.split('.').collect();
        let [header, claims, signature] = parts[..] else {
            return Err("not a JWT (expected header.claims.signature)".into());
        };
        let decode_json = |part: &str, what: &str| -> Result<Value, String> {
            let bytes = b64
                .decode(part.trim_end_matches('='))
                .map_err(|_| format!("{what}: not base64url"))?;
            serde_json::from_slice(&bytes).map_err(|_| format!("{what}: not JSON"))
        };
        let header = decode_json(header, "header")?;
        if header["alg"] != "RS256" {
            return Err(format!("header.alg: {} is not RS256", header["alg"]));
        }
        let sig = b64
            .decode(signature.trim_end_matches('='))
            .map_err(|_| "signature: not base64url".to_string())?;
        let sig =
            Signature::try_from(sig.as_slice()).map_err(|_| "signature: malformed".to_string())?;
        let signed = &token[..token.len() - signature.len() - 1];
        self.key.verify(signed.as_bytes(), &sig).map_err(|_| {
            "signature does not verify against the configured public key".to_string()
        })?;
        let claims = decode_json(claims, "claims")?;
        let account = self.cfg.account.to_uppercase();
        let user = self.cfg.user.to_uppercase();
        let want_sub = format!("{account}.{user}");
        let want_iss = format!("{want_sub}.{}", self.fingerprint);
        let iss = claims["iss"].as_str().unwrap_or_default();
        if iss != want_iss {
            return Err(format!("iss {iss:?} is not {want_iss:?}"));
        }
        let sub = claims["sub"].as_str().unwrap_or_default();
        if sub != want_sub {
            return Err(format!("sub {sub:?} is not {want_sub:?}"));
        }
        let (Some(iat), Some(exp)) = (claims["iat"].as_i64(), claims["exp"].as_i64()) else {
            return Err("iat and exp must be integer seconds".into());
        };
        let now = self.clock.now_ms() / 1000;
        if exp <= now {
            return Err(format!("expired: exp {exp} <= now {now}"));
        }
        if iat > now + 60 {
            return Err(format!("iat {iat} is in the future"));
        }
        if exp - iat > MAX_JWT_LIFETIME_S {
            return Err(format!("lifetime {}s exceeds 3600s", exp - iat));
        }
        Ok(())
    }

    fn status_url(handle: &str, request_id: Option<&str>) -> String {
        match request_id {
            Some(r) => format!("/api/v2/statements/{handle}?requestId={r}"),
            None => format!("/api/v2/statements/{handle}"),
        }
    }

    /// The answer for a statement as of now: 202 running, 422 failed/canceled, 200 done.
    fn answer(&self, s: &Statement, partition: Option<usize>) -> Result<Response, ApiError> {
        let url = Self::status_url(&s.handle, s.request_id.as_deref());
        if s.canceled {
            return Ok(ApiError::new(422, json!({"code": "000604", "sqlState": "57014", "message": "SQL execution canceled", "statementHandle": s.handle, "createdOn": s.created_ms, "statementStatusUrl": url})).into_response());
        }
        if self.clock.now_ms() < s.ready_ms {
            return Ok((axum::http::StatusCode::ACCEPTED, Json(json!({"code": "333334", "message": "Asynchronous execution in progress. Use provided query id to perform query monitoring and management.", "statementHandle": s.handle, "statementStatusUrl": url, "createdOn": s.created_ms}))).into_response());
        }
        let table = match &s.outcome {
            Err(e) => return Ok(ApiError::new(422, json!({"code": e.code, "sqlState": e.sql_state, "message": e.message, "statementHandle": s.handle, "createdOn": s.created_ms, "statementStatusUrl": url})).into_response()),
            Ok(t) => t,
        };
        let size = self.cfg.partition_rows.max(1);
        let chunks: Vec<&[Vec<Option<String>>]> = if table.rows.is_empty() {
            vec![&[]]
        } else {
            table.rows.chunks(size).collect()
        };
        match partition {
            Some(n) if n >= chunks.len() => Err(bad(format!(
                "query parameter `partition`: {n} is out of range (the result has {} partitions)",
                chunks.len()
            ))),
            Some(n) if n >= 1 => Ok(Json(json!({"data": chunks[n]})).into_response()),
            _ => {
                let row_type: Vec<Value> = table.columns.iter().map(|c| {
                    let (scale, precision) = match c.ty { snowflake_sql::Ty::Fixed(s) => (json!(s), json!(38)), snowflake_sql::Ty::TimestampLtz => (json!(9), json!(0)), _ => (Value::Null, Value::Null) };
                    json!({"name": c.name, "database": if c.table.is_empty() { "" } else { "SNOWFLAKE" }, "schema": if c.table.is_empty() { "" } else { "ACCOUNT_USAGE" }, "table": c.table, "nullable": true, "byteLength": if c.ty == snowflake_sql::Ty::Text { json!(16_777_216) } else { Value::Null }, "length": if c.ty == snowflake_sql::Ty::Text { json!(16_777_216) } else { Value::Null }, "type": c.ty.name(), "scale": scale, "precision": precision, "collation": Value::Null})
                }).collect();
                let partition_info: Vec<Value> = chunks.iter().map(|c| json!({"rowCount": c.len(), "uncompressedSize": serde_json::to_string(c).map(|s| s.len()).unwrap_or(0)})).collect();
                Ok(Json(json!({
                    "code": "090001",
                    "sqlState": "00000",
                    "message": "Statement executed successfully.",
                    "statementHandle": s.handle,
                    "createdOn": s.created_ms,
                    "statementStatusUrl": url,
                    "resultSetMetaData": {"numRows": table.rows.len(), "format": "jsonv2", "rowType": row_type, "partitionInfo": partition_info},
                    "data": chunks[0],
                })).into_response())
            }
        }
    }
}

/// `POST /api/v2/statements[?requestId=&async=&nullable=&retry=]`.
async fn submit(
    State(sf): State<Arc<Sf>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let q = Query::parse(raw.as_deref());
    let is_async = q.bool("async").map_err(bad)?.unwrap_or(false);
    q.bool("nullable").map_err(bad)?;
    let retry = q.bool("retry").map_err(bad)?.unwrap_or(false);
    let request_id = q.get("requestId").map(str::to_string);
    if let Some(r) = &request_id {
        let ok = r.len() == 36
            && r.chars().enumerate().all(|(i, c)| {
                if [8, 13, 18, 23].contains(&i) {
                    c == '-'
                } else {
                    c.is_ascii_hexdigit()
                }
            });
        if !ok {
            return Err(bad(format!(
                "query parameter `requestId`: {r:?} is not a UUID"
            )));
        }
    }
    if !check::header(&headers, "content-type").is_some_and(|c| c.starts_with("application/json")) {
        return Err(bad("header Content-Type: expected application/json".into()));
    }
    let body = check::json_object(&body).map_err(bad)?;
    let statement = check::req_str(&body, "body", "statement")
        .map_err(bad)?
        .to_string();
    let timeout = check::opt_i64(&body, "body", "timeout").map_err(bad)?;
    if timeout.is_some_and(|t| !(0..=604_800).contains(&t)) {
        return Err(bad(
            "body.timeout: must be between 0 and 604800 seconds".into()
        ));
    }
    let mut names = HashMap::new();
    for key in ["database", "schema", "warehouse", "role"] {
        if let Some(v) = check::opt_str(&body, "body", key).map_err(bad)? {
            names.insert(key, v.to_ascii_uppercase());
        }
    }
    check::field(&body, "body", "bindings", Kind::Object, false).map_err(bad)?;
    let params = check::field(&body, "body", "parameters", Kind::Object, false).map_err(bad)?;
    if let Some(bindings) = body.get("bindings").and_then(Value::as_object) {
        for (k, v) in bindings {
            check::req_str(v, &format!("body.bindings.{k}"), "type").map_err(bad)?;
            check::field(
                v,
                &format!("body.bindings.{k}"),
                "value",
                Kind::String,
                true,
            )
            .map_err(bad)?;
        }
    }

    if let Some(r) = &request_id {
        if !retry {
            if let Some(handle) = lock(&sf.request_ids).get(r).cloned() {
                if let Some(s) = lock(&sf.statements).get(&handle).cloned() {
                    return sf.answer(&s, None);
                }
            }
        }
    }

    let now = sf.clock.now_ms();
    let session = Session {
        account: sf.cfg.account.to_uppercase(),
        user: sf.cfg.user.to_uppercase(),
        role: names
            .get("role")
            .cloned()
            .unwrap_or_else(|| sf.cfg.default_role.clone()),
        warehouse: names
            .get("warehouse")
            .cloned()
            .unwrap_or_else(|| sf.cfg.default_warehouse.clone()),
        database: names.get("database").cloned(),
        schema: names.get("schema").cloned(),
        now_ms: now,
    };
    let count = statement
        .split(';')
        .filter(|s| !s.trim().is_empty())
        .count();
    let wanted = params
        .and_then(|p| p.get("multi_statement_count"))
        .and_then(|v| {
            v.as_str()
                .map(str::to_string)
                .or_else(|| v.as_i64().map(|n| n.to_string()))
        });
    let (outcome, exec_ms) = if count > 1
        && wanted.as_deref() != Some(&count.to_string())
        && wanted.as_deref() != Some("0")
    {
        (
            Err(SqlError {
                code: "000008",
                sql_state: "0A000",
                message: format!(
                    "Actual statement count {count} did not match the desired statement count 1."
                ),
            }),
            0,
        )
    } else if count > 1 {
        (
            Err(SqlError {
                code: "000002",
                sql_state: "0A000",
                message: "partner-sim: multi-statement requests are not simulated.".into(),
            }),
            0,
        )
    } else {
        match snowflake_sql::execute(&statement, &session) {
            Ok(e) => {
                let ms = e.wait_ms
                    + if e.account_usage {
                        sf.cfg.account_usage_query_ms
                    } else {
                        0
                    };
                (Ok(e.table), ms)
            }
            Err(e) => (Err(e), 0),
        }
    };
    if let Some(t) = timeout.filter(|t| *t > 0) {
        if exec_ms > t * 1000 {
            let s = Statement { handle: check::uuid(), created_ms: now, ready_ms: now, canceled: false, request_id: request_id.clone(), outcome: Err(SqlError { code: "000630", sql_state: "57014", message: format!("Statement reached its statement or warehouse timeout of {t} second(s) and was canceled.") }) };
            let resp = ApiError::new(
                408,
                json!({"code": "000630", "sqlState": "57014", "message": "Statement reached its statement or warehouse timeout and was canceled.", "statementHandle": s.handle, "createdOn": now}),
            );
            lock(&sf.statements).insert(s.handle.clone(), s);
            return Err(resp);
        }
    }
    let s = Statement {
        handle: check::uuid(),
        created_ms: now,
        ready_ms: now + exec_ms,
        canceled: false,
        request_id: request_id.clone(),
        outcome,
    };
    if let Some(r) = &request_id {
        lock(&sf.request_ids).insert(r.clone(), s.handle.clone());
    }
    lock(&sf.statements).insert(s.handle.clone(), s.clone());
    tracing::debug!(handle = %s.handle, exec_ms, "snowflake statement submitted");
    if is_async || exec_ms > sf.cfg.sync_wait_ms {
        let url = Sf::status_url(&s.handle, request_id.as_deref());
        return Ok((axum::http::StatusCode::ACCEPTED, Json(json!({"code": "333334", "message": "Asynchronous execution in progress. Use provided query id to perform query monitoring and management.", "statementHandle": s.handle, "statementStatusUrl": url, "createdOn": now}))).into_response());
    }
    if exec_ms > 0 && sf.clock.now_ms() < s.ready_ms {
        // A synchronous statement that "runs" a little: wait for it on the wall clock when the
        // sim clock is the wall clock; with a manual clock answer as the clock says.
        tokio::time::sleep(std::time::Duration::from_millis(
            u64::try_from(exec_ms).unwrap_or(0).min(50),
        ))
        .await;
    }
    let s = lock(&sf.statements).get(&s.handle).cloned().unwrap_or(s);
    sf.answer(&s, None)
}

/// `GET /api/v2/statements/{statementHandle}[?partition=N]`.
async fn status(
    State(sf): State<Arc<Sf>>,
    Path(handle): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = Query::parse(raw.as_deref());
    let partition = match q.int("partition").map_err(bad)? {
        Some(n) if n < 0 => {
            return Err(bad(format!("query parameter `partition`: {n} is negative")))
        }
        Some(n) => Some(n as usize),
        None => None,
    };
    let s = lock(&sf.statements).get(&handle).cloned().ok_or_else(|| {
        ApiError::new(
            404,
            json!({"code": "000709", "message": format!("Statement {handle} not found")}),
        )
    })?;
    sf.answer(&s, partition)
}

/// `POST /api/v2/statements/{statementHandle}/cancel` → CancelStatus.
async fn cancel(
    State(sf): State<Arc<Sf>>,
    Path(handle): Path<String>,
) -> Result<Response, ApiError> {
    let now = sf.clock.now_ms();
    let mut statements = lock(&sf.statements);
    let s = statements.get_mut(&handle).ok_or_else(|| {
        ApiError::new(
            404,
            json!({"code": "000709", "message": format!("Statement {handle} not found")}),
        )
    })?;
    if now < s.ready_ms {
        s.canceled = true;
    }
    Ok(Json(json!({"code": "000000", "sqlState": "00000", "message": "successfully canceled", "statementHandle": handle, "statementStatusUrl": Sf::status_url(&handle, s.request_id.as_deref())})).into_response())
}
