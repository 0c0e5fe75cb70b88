//! The console's one error type: every failure is a page with a clear message and a 4xx status
//! (a 5xx only for a real fault, whose cause goes to the log, not the page).

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use vouchers_core::VoucherError;

/// Why a console request failed.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No page here, or a conference (voucher, batch) this account may not see.
    #[error("There is no such page, or it is not one of your conferences.")]
    NotFound,
    /// A page that needs a signed-in account was asked for without one: sign in first.
    #[error("Please sign in.")]
    SignInRequired,
    /// A form was sent without a session (it ended, or the cookie is gone).
    #[error("Your session has ended. Sign in again, then send the form again.")]
    SessionEnded,
    /// A form without this session's CSRF token: it was not sent from this console's page.
    #[error("This form could not be accepted: it has expired or was not sent from this console. Reload the page and try again; nothing was changed.")]
    Forgery,
    /// A sponsor page without a sponsor session (it ended, or the link was revoked).
    #[error("Your sponsor session has ended, or its link was replaced. Open the link the organizer sent you again; nothing was changed.")]
    SponsorSessionEnded,
    /// Too many unknown links from this address: wait before trying again.
    #[error("Too many attempts from your address: try again in {0} seconds.")]
    TooMany(u64),
    /// Only an admin account may do this.
    #[error("Only an admin account may do this.")]
    AdminOnly,
    /// Input that breaks a rule, outside a form that can show it next to its field.
    #[error("{0}")]
    Invalid(String),
    /// A use case refused or failed.
    #[error(transparent)]
    Voucher(#[from] VoucherError),
    /// A template did not render (a bug).
    #[error("the page could not be rendered")]
    Render(#[from] askama::Error),
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    reason: &'a str,
    message: &'a str,
}

impl ConsoleError {
    /// The status of each error: the only place console statuses are chosen.
    pub fn status(&self) -> StatusCode {
        match self {
            ConsoleError::NotFound => StatusCode::NOT_FOUND,
            ConsoleError::SignInRequired | ConsoleError::SessionEnded | ConsoleError::SponsorSessionEnded => {
                StatusCode::UNAUTHORIZED
            }
            ConsoleError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            ConsoleError::Forgery | ConsoleError::AdminOnly => StatusCode::FORBIDDEN,
            ConsoleError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ConsoleError::Voucher(e) => vouchers_web::status(e),
            ConsoleError::Render(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        if matches!(self, ConsoleError::SignInRequired) {
            return Redirect::to("/console/login").into_response();
        }
        let status = self.status();
        let self_retry = match &self {
            ConsoleError::TooMany(seconds) => ConsoleError::TooMany(*seconds),
            _ => ConsoleError::NotFound,
        };
        let disk_full = matches!(self, ConsoleError::Voucher(vouchers_core::VoucherError::StorageFull(_)));
        if disk_full {
            vouchers_web::log_disk_full(&self);
        }
        let message = if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
            tracing::error!(error = %vouchers_core::cause_chain(&self), "console request failed");
            "Something went wrong on our side; the server log has the details. Nothing was changed.".to_owned()
        } else {
            self.to_string()
        };
        let page =
            ErrorPage { status: status.as_u16(), reason: status.canonical_reason().unwrap_or(""), message: &message };
        let mut response = match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, message).into_response(),
        };
        if disk_full {
            vouchers_web::mark_disk_full(&mut response);
        }
        if let ConsoleError::TooMany(seconds) = &self_retry {
            if let Ok(value) = axum::http::HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(axum::http::header::RETRY_AFTER, value);
            }
        }
        response
    }
}
