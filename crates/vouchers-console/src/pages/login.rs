//! Signing in and out. A failed sign-in says the same thing whether the email exists or not,
//! and counts against the client's address and the account it named (5 a minute each by
//! default), or, from a browser that signed in to that account before, against that browser
//! instead of the account; a successful one starts a new session, ending the one the browser had.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use vouchers_core::domain::Email;
use vouchers_core::service::accounts;
use vouchers_core::VoucherError;

use crate::error::ConsoleError;
use crate::session::{
    cookie, device_cookie, presented, presented_device, set_cookie, ClientAddress, Posted, SignInForm,
};
use crate::view::{page, Nav};
use crate::{ConsoleState, SignInKey};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    nav: Option<Nav>,
    email: String,
    error: Option<String>,
}

/// The sign-in form (or the conferences, for a signed-in account).
pub(crate) async fn form(State(state): State<ConsoleState>, headers: HeaderMap) -> Result<Response, ConsoleError> {
    if let Some(secret) = presented(&headers) {
        let now = vouchers_core::now();
        if accounts::session(state.store.as_ref(), &secret, state.settings.session, now).await?.is_some() {
            return Ok(Redirect::to("/console").into_response());
        }
    }
    page(StatusCode::OK, &LoginPage { nav: None, email: String::new(), error: None })
}

/// Checks the email and password; on success sets the session cookie and the device cookie and
/// goes to the conferences.
///
/// Failures count against the client's address (5 a minute), and against the account (20 a
/// minute) unless the browser presents a device cookie of that account, when they count
/// against that browser (5 a minute) instead. So one stranger is stopped by its address's limit
/// before it can lock the account; strangers at several addresses lock it for new browsers until
/// their failures leave the minute; a browser that signed in to the account before is never
/// locked out by anyone else's failures.
pub(crate) async fn sign_in(
    State(state): State<ConsoleState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    SignInForm(form): SignInForm,
) -> Result<Response, ConsoleError> {
    let email = form.text("email");
    let refused = |wait: std::time::Duration| {
        let error = format!("Too many sign-in attempts. Try again in {} seconds.", wait.as_secs().max(1));
        page(StatusCode::TOO_MANY_REQUESTS, &LoginPage { nav: None, email: email.clone(), error: Some(error) })
    };
    // The address first: a refused client costs no read.
    let by_address = match state.sign_ins.acquire(SignInKey::Address(address)).await {
        Ok(slot) => slot,
        Err(wait) => return refused(wait),
    };
    // The account as the sign-in will look it up: " Ana@X.org" is ana@x.org.
    let account_key = Email::parse("email", &email).map_or_else(|_| email.to_lowercase(), |e| e.as_str().to_owned());
    let device = match presented_device(&headers) {
        Some(device) if accounts::known_device(state.store.as_ref(), &email, &device).await? => Some(device),
        _ => None,
    };
    let (limiter, key) = match &device {
        Some(device) => (&state.sign_ins, SignInKey::Device(device.device_key().to_owned())),
        None => (&state.account_sign_ins, SignInKey::Account(account_key)),
    };
    let by_account = match limiter.acquire(key).await {
        Ok(slot) => slot,
        Err(wait) => return refused(wait),
    };
    // The password exactly as typed: a space at either end is part of it.
    match accounts::sign_in(state.store.as_ref(), &email, form.secret("password")).await {
        Ok((secret, session)) => {
            by_account.found();
            by_address.found();
            // A new session id at every sign-in: the one the browser had (if any) ends.
            if let Some(old) = presented(&headers) {
                accounts::sign_out(state.store.as_ref(), &old).await?;
            }
            let device = accounts::remember_device(state.store.as_ref(), &session).await?;
            tracing::info!(account = %session.account.email, "signed in to the console");
            let mut response = Redirect::to("/console").into_response();
            set_cookie(response.headers_mut(), cookie(Some(&secret), state.settings.secure_cookies));
            set_cookie(response.headers_mut(), device_cookie(&device, state.settings.secure_cookies));
            Ok(response)
        }
        Err(VoucherError::LoginFailed) => {
            by_account.failed();
            by_address.failed();
            let error = Some("The email or the password is not right.".to_owned());
            page(StatusCode::UNAUTHORIZED, &LoginPage { nav: None, email, error })
        }
        Err(other) => Err(other.into()),
    }
}

/// Ends the session and goes back to the sign-in form.
pub(crate) async fn sign_out(
    State(state): State<ConsoleState>,
    Posted { signed, .. }: Posted,
) -> Result<Response, ConsoleError> {
    accounts::sign_out(state.store.as_ref(), &signed.secret).await?;
    let mut response = Redirect::to("/console/login").into_response();
    set_cookie(response.headers_mut(), cookie(None, state.settings.secure_cookies));
    Ok(response)
}
