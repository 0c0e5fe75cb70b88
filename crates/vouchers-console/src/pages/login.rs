//! Signing in and out. A failed sign-in says the same thing whether the email exists or not,
//! and counts under the sign-in limit ([`vouchers_core::service::sign_in`]: the client's address,
//! and the account it named or the browser that signed in to it before); a successful one starts
//! a new session, ending the one the browser had.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use vouchers_core::service::accounts;
use vouchers_core::service::sign_in::{self, SignInAttempt, SignedIn};

use crate::error::ConsoleError;
use crate::session::{
    cookie, device_cookie, presented, presented_device, set_cookie, ClientAddress, Posted, SignInForm,
};
use crate::view::{page, Nav};
use crate::ConsoleState;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    nav: Option<Nav>,
    email: String,
    error: Option<String>,
    /// What the last change said ("Password set; sign in"), shown once.
    notice: Option<String>,
}

/// The sign-in form (or the conferences, for a signed-in account).
pub(crate) async fn form(State(state): State<ConsoleState>, headers: HeaderMap) -> Result<Response, ConsoleError> {
    if let Some(secret) = presented(&headers) {
        let now = vouchers_core::now();
        if accounts::session(state.store.as_ref(), &secret, state.settings.session, now).await?.is_some() {
            return Ok(Redirect::to("/console").into_response());
        }
    }
    let notice = crate::flash::presented(&headers);
    page(StatusCode::OK, &LoginPage { nav: None, email: String::new(), error: None, notice })
}

/// Checks the email and password under the sign-in limit
/// ([`vouchers_core::service::sign_in`]); on success sets the session cookie and the device
/// cookie and goes to the conferences.
pub(crate) async fn sign_in(
    State(state): State<ConsoleState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    SignInForm(form): SignInForm,
) -> Result<Response, ConsoleError> {
    let email = form.text("email");
    let device = presented_device(&headers);
    let attempt = SignInAttempt {
        email: &email,
        // The password exactly as typed: a space at either end is part of it.
        password: form.secret("password"),
        address,
        device: device.as_ref(),
    };
    let store = state.store.as_ref();
    let (status, error) = match sign_in::sign_in(store, &state.sign_ins, attempt, vouchers_core::now()).await? {
        SignedIn::Session(secret, session) => {
            // A new session id at every sign-in: the one the browser had (if any) ends.
            if let Some(old) = presented(&headers) {
                accounts::sign_out(store, &old).await?;
            }
            let device = accounts::remember_device(store, &session).await?;
            tracing::info!(account = %session.account.email, "signed in to the console");
            let mut response = Redirect::to("/console").into_response();
            set_cookie(response.headers_mut(), cookie(Some(&secret), state.settings.secure_cookies));
            set_cookie(response.headers_mut(), device_cookie(&device, state.settings.secure_cookies));
            return Ok(response);
        }
        SignedIn::Refused => (StatusCode::UNAUTHORIZED, "The email or the password is not right.".to_owned()),
        SignedIn::TooMany(refused) => (
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many sign-in attempts. Try again in {} seconds.", refused.whole_seconds()),
        ),
    };
    page(status, &LoginPage { nav: None, email, error: Some(error), notice: None })
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
