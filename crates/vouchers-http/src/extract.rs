//! Extractors that answer in the API's error shape: a JSON body (malformed: 400; wrong shape:
//! 422 naming the field; too large: 413), query parameters (422 naming the parameter) and path
//! segments (a segment that cannot name anything: 404). Also [`DecimalInput`], an exact decimal
//! given as a JSON string or number.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::StatusCode;
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use vouchers_core::domain::{parse_decimal, quoted};

use crate::error::ApiError;
use crate::AppState;

/// A JSON request body, parsed without ever going through a float.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

fn is_json(content_type: &str) -> bool {
    let mime = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// The longest message an extractor passes on: serde's messages quote the offending value, which
/// may be as large as the body.
const MESSAGE_MAX: usize = 300;

/// `message` cut to [`MESSAGE_MAX`] characters.
fn short(message: String) -> String {
    if message.chars().count() <= MESSAGE_MAX {
        return message;
    }
    let mut cut: String = message.chars().take(MESSAGE_MAX).collect();
    cut.push_str("...");
    cut
}

/// serde's message with Rust's type names put in words: `expected i64` reads `expected a whole
/// number`, `expected u32` `expected a whole number from 0 up`, `expected f64` `expected a
/// number`.
fn in_words(message: &str) -> String {
    const NAMES: [(&str, &str); 13] = [
        ("i8", "a whole number"),
        ("i16", "a whole number"),
        ("i32", "a whole number"),
        ("i64", "a whole number"),
        ("i128", "a whole number"),
        ("isize", "a whole number"),
        ("u8", "a whole number from 0 up"),
        ("u16", "a whole number from 0 up"),
        ("u32", "a whole number from 0 up"),
        ("u64", "a whole number from 0 up"),
        ("usize", "a whole number from 0 up"),
        ("f32", "a number"),
        ("f64", "a number"),
    ];
    let Some((head, rest)) = message.split_once("expected ") else { return message.to_owned() };
    let name_end = rest.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(rest.len());
    match NAMES.iter().find(|(name, _)| *name == &rest[..name_end]) {
        Some((_, words)) => format!("{head}expected {words}{}", &rest[name_end..]),
        None => message.to_owned(),
    }
}

/// The field a serde error names, for errors about a field of an object rather than a value:
/// `missing field `count`` and `duplicate field `count``, reported at the object's path.
fn named_field(path: &str, message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `").or_else(|| message.strip_prefix("duplicate field `"))?;
    let name = rest.split('`').next()?;
    Some(if path == "." { name.to_owned() } else { format!("{path}.{name}") })
}

/// Parses `bytes` as `T`, which every body is an object of: syntax errors are 400; any other
/// JSON value than an object, and shape errors, are 422 with the JSON path as `field` (a missing
/// or repeated field is named too).
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Syntax first, and the top-level value's kind: serde would read a struct from an array,
    // field by position.
    let raw: &RawValue = serde_json::from_slice(bytes).map_err(|e| ApiError::MalformedJson(short(e.to_string())))?;
    if !raw.get().starts_with('{') {
        return Err(ApiError::Invalid { field: None, message: "the body must be a JSON object".to_owned() });
    }
    let mut deserializer = serde_json::Deserializer::from_str(raw.get());
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let text = in_words(&inner.to_string());
                let field = named_field(&path, &text).or_else(|| (path != ".").then_some(path));
                let message = match &field {
                    Some(field) => format!("{field}: {text}"),
                    None => text,
                };
                ApiError::Invalid { field, message: short(message) }
            }
            _ => ApiError::MalformedJson(short(inner.to_string())),
        }
    })
}

/// The body of a request whose `Content-Type` passes `accepts` (else 415), within the body limit
/// (else 413).
async fn body_bytes(req: Request, state: &AppState, accepts: fn(&str) -> bool) -> Result<Bytes, ApiError> {
    let content_type = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !accepts(content_type) {
        return Err(ApiError::UnsupportedMediaType);
    }
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge { limit: state.settings.body_limit }
        } else {
            ApiError::MalformedJson(rejection.body_text())
        }
    })
}

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let bytes = body_bytes(req, state, is_json).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// A CSV body (`Content-Type: text/csv`), within the body limit.
#[derive(Debug, Clone)]
pub struct CsvBody(pub Bytes);

fn is_csv(content_type: &str) -> bool {
    content_type.split(';').next().unwrap_or_default().trim().eq_ignore_ascii_case("text/csv")
}

impl FromRequest<AppState> for CsvBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        body_bytes(req, state, is_csv).await.map(CsvBody)
    }
}

/// Query parameters; a wrong one is 422 naming it.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer).map(ApiQuery).map_err(|error| {
            let path = error.path().to_string();
            let field = (path != ".").then_some(path);
            let inner = in_words(&error.into_inner().to_string());
            let message = match &field {
                Some(field) => format!("query parameter {field}: {inner}"),
                None => format!("query parameters: {inner}"),
            };
            ApiError::Invalid { field, message: short(message) }
        })
    }
}

/// Path segments. A segment that does not decode names nothing: 404.
#[derive(Debug, Clone)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state).await.map(|Path(value)| ApiPath(value)).map_err(|rejection| {
            tracing::debug!(%rejection, "path segment does not decode");
            ApiError::RouteNotFound
        })
    }
}

/// An exact decimal given as a JSON string (`"25.00"`) or a JSON number (`25.00`). A number is
/// read from its literal text, never through a float; exponents are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecimalInput(pub Decimal);

impl DecimalInput {
    /// Parses the raw JSON text of a string or number for `field`.
    fn from_raw(field: &'static str, raw: &str) -> Result<Self, String> {
        let text = if raw.starts_with('"') {
            serde_json::from_str::<String>(raw).map_err(|e| e.to_string())?
        } else if raw.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
            raw.to_owned()
        } else {
            return Err(format!("{field} must be a decimal number or a string holding one, got {}", quoted(raw)));
        };
        parse_decimal(field, &text).map(DecimalInput).map_err(|e| e.message)
    }
}

impl<'de> Deserialize<'de> for DecimalInput {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        DecimalInput::from_raw("discount_value", raw.get()).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for DecimalInput {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(r"^-?[0-9]+(\.[0-9]+)?$"))
                    .examples([serde_json::json!("25.00")]),
            )
            .item(ObjectBuilder::new().schema_type(Type::Number).examples([serde_json::json!(25)]))
            .description(Some(
                "An exact decimal, as a string (\"25.00\") or a JSON number (25.00); never read as a float.",
            ))
            .into()
    }
}

impl utoipa::ToSchema for DecimalInput {}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[allow(dead_code)]
        count: i64,
        discount_value: Option<DecimalInput>,
    }

    #[test]
    fn decimals_are_exact_from_strings_and_numbers() {
        let b: Body = parse_json(br#"{"count": 1, "discount_value": 0.1}"#).unwrap();
        assert_eq!(b.discount_value.unwrap().0.to_string(), "0.1");
        let b: Body = parse_json(br#"{"count": 1, "discount_value": "25.00"}"#).unwrap();
        assert_eq!(b.discount_value.unwrap().0.to_string(), "25.00");
        let b: Body = parse_json(br#"{"count": 1, "discount_value": 12345678.99}"#).unwrap();
        assert_eq!(b.discount_value.unwrap().0.to_string(), "12345678.99");
        let b: Body = parse_json(br#"{"count": 1, "discount_value": null}"#).unwrap();
        assert!(b.discount_value.is_none());
        let e = parse_json::<Body>(br#"{"count": 1, "discount_value": 1e3}"#).unwrap_err();
        assert!(matches!(e, ApiError::Invalid { field: Some(ref f), .. } if f == "discount_value"), "{e:?}");
        let e = parse_json::<Body>(br#"{"count": 1, "discount_value": true}"#).unwrap_err();
        assert!(matches!(e, ApiError::Invalid { .. }), "{e:?}");
    }

    #[test]
    fn bodies_are_objects_and_fields_are_named() {
        let e = parse_json::<Body>(br#"[1, null]"#).unwrap_err();
        assert!(
            matches!(e, ApiError::Invalid { field: None, ref message } if message == "the body must be a JSON object")
        );
        assert!(matches!(parse_json::<Body>(br#""x""#), Err(ApiError::Invalid { .. })));
        let e = parse_json::<Body>(br#"{"discount_value": 1}"#).unwrap_err();
        assert!(matches!(e, ApiError::Invalid { field: Some(ref f), .. } if f == "count"), "{e:?}");
        let e = parse_json::<Body>(br#"{"count": 1, "count": 2}"#).unwrap_err();
        assert!(matches!(e, ApiError::Invalid { field: Some(ref f), .. } if f == "count"), "{e:?}");
        let huge = format!(r#"{{"count": "{}"}}"#, "9".repeat(1_000_000));
        let e = parse_json::<Body>(huge.as_bytes()).unwrap_err();
        assert!(e.to_string().len() < 400, "{} bytes", e.to_string().len());
        let huge = format!(r#"{{"count": 1, "discount_value": "{}"}}"#, "9".repeat(1_000_000));
        assert!(parse_json::<Body>(huge.as_bytes()).unwrap_err().to_string().len() < 400);
    }

    #[test]
    fn type_errors_are_in_words() {
        assert_eq!(
            in_words("invalid type: string \"5\", expected i64 at line 1 column 12"),
            "invalid type: string \"5\", expected a whole number at line 1 column 12"
        );
        assert_eq!(
            in_words("invalid value: integer `-1`, expected u32"),
            "invalid value: integer `-1`, expected a whole number from 0 up"
        );
        assert_eq!(
            in_words("invalid type: integer `1`, expected a string"),
            "invalid type: integer `1`, expected a string"
        );
        let err = parse_json::<std::collections::HashMap<String, i64>>(br#"{"count": "5"}"#).unwrap_err();
        assert!(err.to_string().contains("expected a whole number"), "{err}");
    }

    #[test]
    fn syntax_is_400_and_shape_is_422_with_the_field() {
        assert!(matches!(parse_json::<Body>(b"{\"count\": "), Err(ApiError::MalformedJson(_))));
        assert!(matches!(parse_json::<Body>(br#"{"count": 1} x"#), Err(ApiError::MalformedJson(_))));
        let e = parse_json::<Body>(br#"{"count": "many"}"#).unwrap_err();
        assert!(matches!(e, ApiError::Invalid { field: Some(ref f), .. } if f == "count"), "{e:?}");
    }
}
