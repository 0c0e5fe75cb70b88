//! Form bodies (`application/x-www-form-urlencoded`, or `multipart/form-data` for a form with a
//! file), read as name-value pairs so that repeated fields (checkbox lists) and wrong values are
//! handled by the page, with its own messages. A file field's value is the file's text (a CSV
//! file: UTF-8, at most [`MAX_FILE_BYTES`], a leading byte-order mark dropped).

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header::CONTENT_TYPE;

use crate::error::ConsoleError;
use crate::ConsoleState;

/// The fields of a submitted form, in order.
#[derive(Debug, Default)]
pub(crate) struct FormData(Vec<(String, String)>);

impl FormData {
    /// The first value of `name`, trimmed; `None` when absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim())
    }

    /// The first value of `name` exactly as sent, never trimmed (a password may start or end
    /// with a space); empty when absent.
    pub fn secret(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }

    /// The first value of `name`, trimmed; empty when absent.
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_owned()
    }

    /// Every value of `name` (a checkbox list), trimmed, empty ones left out.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, v)| k == name && !v.trim().is_empty()).map(|(_, v)| v.trim().to_owned()).collect()
    }

    /// Sets `name` to `value` (a default shown in an empty form).
    pub fn set(&mut self, name: &str, value: &str) {
        self.0.retain(|(k, _)| k != name);
        self.0.push((name.to_owned(), value.to_owned()));
    }

    /// True when the checkbox `name` was ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

impl FormData {
    /// Reads a form body. Not an extractor: a handler gets a form through
    /// [`crate::session::Posted`] (its CSRF token checked) or [`crate::session::SignInForm`].
    pub(crate) async fn read(request: Request, state: &ConsoleState) -> Result<Self, ConsoleError> {
        let multipart = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
        if multipart {
            return Self::read_multipart(request, state).await;
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|_| ConsoleError::Invalid("The form is too large or could not be read.".into()))?;
        Ok(FormData(form_urlencoded::parse(&bytes).into_owned().collect()))
    }
}

/// The largest file a form takes (a CSV of recipients or of codes to import); larger ones are
/// for the command line, which streams them.
pub(crate) const MAX_FILE_BYTES: usize = 2 * 1024 * 1024;

/// The most fields a multipart form may have.
const MAX_PARTS: usize = 50;

impl FormData {
    /// Reads a `multipart/form-data` body: text fields as they are, each file as its text.
    async fn read_multipart(request: Request, state: &ConsoleState) -> Result<Self, ConsoleError> {
        let unreadable = || ConsoleError::Invalid("The form is too large or could not be read.".into());
        let mut multipart = Multipart::from_request(request, state).await.map_err(|_| unreadable())?;
        let mut fields = Vec::new();
        while let Some(field) = multipart.next_field().await.map_err(|_| unreadable())? {
            if fields.len() >= MAX_PARTS {
                return Err(unreadable());
            }
            let name = field.name().unwrap_or_default().to_owned();
            let file = field.file_name().map(str::to_owned);
            let bytes = field.bytes().await.map_err(|_| unreadable())?;
            if file.is_some() && bytes.len() > MAX_FILE_BYTES {
                return Err(ConsoleError::Invalid(format!(
                    "The file is {} KB; a form takes files of at most {} KB (use the command line for larger ones).",
                    bytes.len() / 1024,
                    MAX_FILE_BYTES / 1024
                )));
            }
            let text = String::from_utf8(bytes.to_vec()).map_err(|_| {
                ConsoleError::Invalid(match &file {
                    Some(file) => format!("The file {file:?} is not UTF-8 text: save it as CSV (UTF-8) and try again."),
                    None => "The form is not UTF-8 text.".to_owned(),
                })
            })?;
            let text = text.strip_prefix('\u{feff}').map(str::to_owned).unwrap_or(text);
            fields.push((name, text));
        }
        Ok(FormData(fields))
    }
}
