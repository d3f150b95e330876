//! Request conformance helpers: query parameters, headers and JSON bodies checked against the
//! documented schema. Each check returns the violation detail as a string naming the parameter
//! or JSON path (`body.series[0].points[0].value: required number missing`), which the
//! platform modules wrap in their own 400 body.

use axum::http::HeaderMap;
use serde_json::Value;

/// The JSON type a schema field must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    String,
    Integer,
    Number,
    Bool,
    Array,
    Object,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Integer => "integer",
            Kind::Number => "number",
            Kind::Bool => "boolean",
            Kind::Array => "array",
            Kind::Object => "object",
        }
    }

    fn matches(self, v: &Value) -> bool {
        match self {
            Kind::String => v.is_string(),
            Kind::Integer => v.is_i64() || v.is_u64(),
            Kind::Number => v.is_number(),
            Kind::Bool => v.is_boolean(),
            Kind::Array => v.is_array(),
            Kind::Object => v.is_object(),
        }
    }
}

/// The JSON type name of a value, for messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Parses a request body as a JSON object.
pub(crate) fn json_object(bytes: &[u8]) -> Result<Value, String> {
    if bytes.is_empty() {
        return Err("body: required JSON object missing".into());
    }
    let v: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("body: not valid JSON ({e})"))?;
    if !v.is_object() {
        return Err(format!("body: expected object, found {}", type_name(&v)));
    }
    Ok(v)
}

/// A field of `obj` at JSON path `path` (e.g. `body.series[0]`): checked for type, and for
/// presence when `required`.
pub(crate) fn field<'a>(
    obj: &'a Value,
    path: &str,
    key: &str,
    kind: Kind,
    required: bool,
) -> Result<Option<&'a Value>, String> {
    match obj.get(key) {
        None | Some(Value::Null) if required => {
            Err(format!("{path}.{key}: required {} missing", kind.name()))
        }
        None | Some(Value::Null) => Ok(None),
        Some(v) if kind.matches(v) => Ok(Some(v)),
        Some(v) => Err(format!(
            "{path}.{key}: expected {}, found {}",
            kind.name(),
            type_name(v)
        )),
    }
}

/// A required string field.
pub(crate) fn req_str<'a>(obj: &'a Value, path: &str, key: &str) -> Result<&'a str, String> {
    Ok(field(obj, path, key, Kind::String, true)?
        .and_then(Value::as_str)
        .unwrap_or_default())
}

/// An optional string field.
pub(crate) fn opt_str<'a>(
    obj: &'a Value,
    path: &str,
    key: &str,
) -> Result<Option<&'a str>, String> {
    Ok(field(obj, path, key, Kind::String, false)?.and_then(Value::as_str))
}

/// An optional integer field.
pub(crate) fn opt_i64(obj: &Value, path: &str, key: &str) -> Result<Option<i64>, String> {
    Ok(field(obj, path, key, Kind::Integer, false)?.and_then(Value::as_i64))
}

/// An optional boolean field.
pub(crate) fn opt_bool(obj: &Value, path: &str, key: &str) -> Result<Option<bool>, String> {
    Ok(field(obj, path, key, Kind::Bool, false)?.and_then(Value::as_bool))
}

/// Decoded query parameters, in order.
#[derive(Debug, Default)]
pub(crate) struct Query(Vec<(String, String)>);

impl Query {
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        Self(
            form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .into_owned()
                .collect(),
        )
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn required(&self, key: &str) -> Result<&str, String> {
        match self.get(key) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(format!("query parameter `{key}`: required, missing")),
        }
    }

    pub(crate) fn int(&self, key: &str) -> Result<Option<i64>, String> {
        self.get(key)
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| format!("query parameter `{key}`: expected integer, found {v:?}"))
            })
            .transpose()
    }

    pub(crate) fn bool(&self, key: &str) -> Result<Option<bool>, String> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(v) => Err(format!(
                "query parameter `{key}`: expected true or false, found {v:?}"
            )),
        }
    }
}

/// A header's value as text, if present and non-empty.
pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The token of `Authorization: Bearer <token>`.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = header(headers, "authorization")?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// An opaque page token for `offset` within list `kind`.
pub(crate) fn page_token(kind: &str, offset: usize) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{kind}:{offset}"))
}

/// Reads a page token issued by [`page_token`] for `kind`.
pub(crate) fn page_offset(kind: &str, param: &str, token: Option<&str>) -> Result<usize, String> {
    use base64::Engine;
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Ok(0);
    };
    let bad =
        || format!("query parameter `{param}`: {token:?} is not a page token this server issued");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (k, offset) = text.split_once(':').ok_or_else(bad)?;
    if k != kind {
        return Err(bad());
    }
    offset.parse().map_err(|_| bad())
}

/// A deterministic number in `0.0..1.0` derived from `seed` (FNV-1a), for synthetic data.
pub(crate) fn unit(seed: &str) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // Mix the high bits down so nearby seeds spread out.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// A random lower-case UUID v4 string.
pub(crate) fn uuid() -> String {
    let b: [u8; 16] = rand::random();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        u16::from_be_bytes([b[4], b[5]]),
        u16::from_be_bytes([b[6], b[7]]) & 0x0fff,
        (u16::from_be_bytes([b[8], b[9]]) & 0x3fff) | 0x8000,
        u64::from_be_bytes([0, 0, b[10], b[11], b[12], b[13], b[14], b[15]])
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_missing_required_field_is_named_by_its_json_path() {
        let body = json!({"points": [{"timestamp": 1}]});
        let err = field(
            &body["points"][0],
            "body.series[0].points[0]",
            "value",
            Kind::Number,
            true,
        )
        .err()
        .unwrap_or_default();
        assert_eq!(
            err, "body.series[0].points[0].value: required number missing",
            "the path and the expected type are named"
        );
    }

    #[test]
    fn page_tokens_round_trip_and_refuse_other_lists() {
        let t = page_token("runs", 40);
        assert_eq!(
            page_offset("runs", "page_token", Some(&t)),
            Ok(40),
            "round trip"
        );
        assert!(
            page_offset("jobs", "page_token", Some(&t)).is_err(),
            "another list's token is refused"
        );
    }

    #[test]
    fn synthetic_numbers_are_deterministic_and_in_range() {
        let a = unit("2026-01-01/COMPUTE_WH");
        assert_eq!(a, unit("2026-01-01/COMPUTE_WH"), "same seed, same value");
        assert!((0.0..1.0).contains(&a), "in range: {a}");
    }
}
