//! Flash messages: a form's handler that changed something redirects with a sentence that says
//! what happened ("25 vouchers deactivated"), and the next page shows it once.
//!
//! The sentence travels in the cookie `vouchers_flash` (`Path=/console`, `HttpOnly`,
//! `SameSite=Lax`, a minute long); [`clear`] removes it as soon as a page (not a redirect) has
//! answered a request that carried it. It is shown escaped like every value, cut to
//! [`MAX_CHARS`] characters, and holds nothing secret.

use axum::extract::Request;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::ConsoleState;

/// The cookie's name.
const FLASH_COOKIE: &str = "vouchers_flash";

/// The longest sentence carried (longer ones are cut).
pub(crate) const MAX_CHARS: usize = 300;

/// A redirect (303) to `to` whose next page says `message`.
pub(crate) fn redirect(state: &ConsoleState, to: &str, message: &str) -> Response {
    let message: String = message.chars().take(MAX_CHARS).collect();
    let value: String = form_urlencoded::byte_serialize(message.as_bytes()).collect();
    let secure = if state.settings.secure_cookies { "; Secure" } else { "" };
    let mut response = Redirect::to(to).into_response();
    // byte_serialize leaves only [A-Za-z0-9*-._+%]: always a valid header value.
    if let Ok(cookie) = HeaderValue::from_str(&format!(
        "{FLASH_COOKIE}={value}; Path=/console; HttpOnly; SameSite=Lax; Max-Age=60{secure}"
    )) {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    response
}

/// The sentence a request carries, if any.
pub(crate) fn presented(headers: &HeaderMap) -> Option<String> {
    let value =
        headers.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == FLASH_COOKIE && !value.is_empty()).then_some(value)
        })?;
    let message: String = form_urlencoded::parse(format!("m={value}").as_bytes())
        .find(|(k, _)| k == "m")
        .map(|(_, v)| v.chars().filter(|c| !c.is_control()).take(MAX_CHARS).collect())?;
    (!message.trim().is_empty()).then_some(message)
}

/// Removes the flash cookie once a page has answered a request that carried it (a redirect
/// passes it on to the page it leads to).
pub(crate) async fn clear(request: Request, next: Next) -> Response {
    let carried = presented(request.headers()).is_some();
    let mut response = next.run(request).await;
    if carried && !response.status().is_redirection() {
        response.headers_mut().append(
            SET_COOKIE,
            HeaderValue::from_static("vouchers_flash=; Path=/console; HttpOnly; SameSite=Lax; Max-Age=0"),
        );
    }
    response
}
