//! Form bodies (`application/x-www-form-urlencoded`), read as name-value pairs so that repeated
//! fields (checkbox lists) and wrong values are handled by the page, with its own messages.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};

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
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|_| ConsoleError::Invalid("The form is too large or could not be read.".into()))?;
        Ok(FormData(form_urlencoded::parse(&bytes).into_owned().collect()))
    }
}
