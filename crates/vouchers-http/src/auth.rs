//! Who is calling: the bearer token of the request, looked up by its hash, and what its scope
//! allows. Missing or unknown token: 401. Wrong scope: 403. Another conference's resources: the
//! same 404 as a conference that does not exist, so a token cannot probe for slugs.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use std::sync::Arc;

use vouchers_core::domain::{Access, Action, Actor, ApiToken, Conference, Denied, TokenSecret};
use vouchers_core::service::{catalog, tokens};
use vouchers_core::store::acting;
use vouchers_core::Store;
use vouchers_core::VoucherError;

use crate::error::ApiError;
use crate::AppState;

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's id (for logs; never the secret).
    pub token_id: i64,
    /// What it may do, and where ([`Access`]: the policy tokens and console accounts share).
    pub access: Access,
    /// Its label, for the audit log.
    pub name: Option<String>,
}

/// The secret of an `Authorization: Bearer ...` header, not yet looked up (401 when there is
/// none). The checkout routes look it up in the same read as the code; every other route
/// extracts a [`Principal`].
pub struct Bearer(pub TokenSecret);

impl<S: Send + Sync> FromRequestParts<S> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let value = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).ok_or(ApiError::Unauthorized)?;
        let (scheme, secret) = value.trim().split_once(' ').ok_or(ApiError::Unauthorized)?;
        let secret = secret.trim();
        if !scheme.eq_ignore_ascii_case("bearer") || secret.is_empty() {
            return Err(ApiError::Unauthorized);
        }
        Ok(Bearer(TokenSecret::new(secret)))
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Bearer(secret) = Bearer::from_request_parts(parts, state).await?;
        Principal::from_token(tokens::authenticate(state.store.as_ref(), &secret).await?)
    }
}

/// The answer to a request the policy refused: 403 for an action the token's scope does not
/// allow, the 404 of a missing conference for one out of its reach.
fn denied(denied: Denied, slug: &str) -> ApiError {
    match denied {
        Denied::Forbidden => ApiError::Forbidden,
        Denied::NotFound => VoucherError::ConferenceNotFound(slug.to_owned()).into(),
    }
}

impl Principal {
    /// The caller of an unrevoked token found by its secret; 401 when none was found.
    pub fn from_token(token: Option<ApiToken>) -> Result<Self, ApiError> {
        let token = token.ok_or(ApiError::Unauthorized)?;
        tracing::debug!(token_id = token.id, scope = %token.scope, "authenticated");
        Ok(Principal { token_id: token.id, access: Access::of_token(&token), name: token.name })
    }

    /// Whether this token may do `action` in `conference` (found by `slug`, `None` when no
    /// conference has it).
    pub fn admit(&self, conference: Option<Conference>, slug: &str, action: Action) -> Result<Conference, ApiError> {
        self.access.admit(action, conference).map_err(|d| denied(d, slug))
    }

    /// The store as this token writes to it: every write's audit record names the token.
    pub fn store(&self, state: &AppState) -> Arc<dyn Store> {
        acting(Arc::clone(&state.store), Actor::Token { id: self.token_id, name: self.name.clone() })
    }

    /// Only admin tokens may do this (create conferences).
    pub fn require_admin(&self) -> Result<(), ApiError> {
        self.access.require(Action::Administer).map_err(|d| denied(d, ""))
    }

    /// The conference `slug`, for a request to do `action` there. A scope that does not allow it
    /// gets 403 whatever the slug (before anything is read); another conference's token gets the
    /// 404 of a missing conference.
    pub async fn conference_for(&self, state: &AppState, slug: &str, action: Action) -> Result<Conference, ApiError> {
        self.access.require(action).map_err(|d| denied(d, slug))?;
        let conference = catalog::conference(state.store.as_ref(), slug).await?;
        self.admit(Some(conference), slug, action)
    }
}

/// A request that manages the conference of the path's `{conf}` (conferences, catalogue,
/// vouchers, batches, export, usage, recipients, audit): admin tokens anywhere, manage tokens in
/// their own conference. Checkout tokens get 403 whatever the slug; a manage token asking for
/// another conference gets the 404 of a missing one. Every such route takes this extractor, so
/// none can forget the check, and it runs before the body is read.
pub struct Managed {
    /// The caller.
    pub principal: Principal,
    /// The conference it manages.
    pub conference: Conference,
}

impl FromRequestParts<AppState> for Managed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let principal = Principal::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| VoucherError::ConferenceNotFound(String::new()))?;
        let slug = params.iter().find(|(name, _)| *name == "conf").map(|(_, value)| value.to_owned());
        let slug = slug.ok_or_else(|| VoucherError::ConferenceNotFound(String::new()))?;
        let conference = principal.conference_for(state, &slug, Action::Manage).await?;
        Ok(Managed { principal, conference })
    }
}
