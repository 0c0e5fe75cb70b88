//! API tokens of a conference: create one (its secret is shown once), list them, revoke one.
//! An admin account also sees the admin tokens (which reach every conference) and may revoke
//! them; creating those stays with `vouchers token create`.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use vouchers_core::domain::{ApiToken, Conference, Scope};
use vouchers_core::service::tokens;

use crate::error::ConsoleError;
use crate::session::{Posted, Signed};
use crate::view::{page, Nav};
use crate::ConsoleState;

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    /// The zone the times are in.
    timezone: String,
    nav: Option<Nav>,
    slug: String,
    tokens: Vec<TokenRow>,
    created: Option<String>,
    error: Option<String>,
    name: String,
}

/// A token as the list shows it.
struct TokenRow {
    id: i64,
    scope: &'static str,
    name: String,
    created_at: String,
    revoked_at: String,
}

/// The tokens this account may see on this conference's page.
async fn visible(
    state: &ConsoleState,
    signed: &Signed,
    conference: &Conference,
) -> Result<Vec<ApiToken>, ConsoleError> {
    let admin = signed.require_admin().is_ok();
    Ok(tokens::list_tokens(state.store.as_ref())
        .await?
        .into_iter()
        .filter(|t| t.conference_id == Some(conference.id) || (admin && t.scope == Scope::Admin))
        .collect())
}

async fn render(
    state: &ConsoleState,
    signed: &Signed,
    conference: &Conference,
    created: Option<String>,
    error: Option<String>,
    name: String,
) -> Result<Response, ConsoleError> {
    let rows = visible(state, signed, conference)
        .await?
        .iter()
        .map(|t| TokenRow {
            id: t.id,
            scope: t.scope.as_str(),
            name: t.name.clone().unwrap_or_default(),
            created_at: crate::view::local(&t.created_at, conference.timezone),
            revoked_at: t.revoked_at.as_ref().map(|t| crate::view::local(t, conference.timezone)).unwrap_or_default(),
        })
        .collect();
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let mut response = page(
        status,
        &TokensPage {
            nav: Some(Nav::new(signed, Some(conference))),
            timezone: conference.timezone.name().to_owned(),
            slug: conference.slug.clone(),
            tokens: rows,
            created,
            error,
            name,
        },
    )?;
    response.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The list and the form.
pub(crate) async fn list(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path(conf): Path<String>,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    render(&state, &signed, &conference, None, None, String::new()).await
}

/// Creates a manage or checkout token of the conference and shows its secret, once.
pub(crate) async fn create(
    State(state): State<ConsoleState>,
    Path(conf): Path<String>,
    Posted { signed, form }: Posted,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let scope = match form.text("scope").as_str() {
        "manage" => Scope::Manage,
        "checkout" => Scope::Checkout,
        other => {
            let error = format!("scope must be manage or checkout, got {}", vouchers_core::domain::quoted(other));
            return render(&state, &signed, &conference, None, Some(error), form.text("name")).await;
        }
    };
    let name = form.get("name").filter(|n| !n.is_empty());
    match tokens::create_token(signed.store(&state).as_ref(), scope, Some(&conference.slug), name).await {
        Ok(created) => {
            tracing::info!(account = %signed.session.account.email, token = created.token.id, "API token created");
            let secret = created.secret.expose().to_owned();
            render(&state, &signed, &conference, Some(secret), None, String::new()).await
        }
        Err(e) if e.is_input_error() => {
            render(&state, &signed, &conference, None, Some(crate::view::said(&e)), form.text("name")).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Revokes a token this page lists.
pub(crate) async fn revoke(
    State(state): State<ConsoleState>,
    Path((conf, id)): Path<(String, String)>,
    Posted { signed, .. }: Posted,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let id = id.parse::<i64>().map_err(|_| ConsoleError::NotFound)?;
    if !visible(&state, &signed, &conference).await?.iter().any(|t| t.id == id) {
        return Err(ConsoleError::NotFound);
    }
    match tokens::revoke_token(signed.store(&state).as_ref(), id).await {
        Ok(()) | Err(vouchers_core::VoucherError::TokenNotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    tracing::info!(account = %signed.session.account.email, token = id, "API token revoked");
    Ok(Redirect::to(&format!("/console/c/{}/tokens", conference.slug)).into_response())
}
