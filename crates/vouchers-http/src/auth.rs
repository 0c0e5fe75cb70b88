//! Who is calling: the bearer token of the request, looked up by its hash, and what its scope
//! allows. Missing or unknown token: 401. Wrong scope: 403. Another conference's resources: the
//! same 404 as a conference that does not exist, so a token cannot probe for slugs.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use std::sync::Arc;

use vouchers_core::domain::{Actor, ApiToken, Conference, Scope, TokenSecret};
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
    /// What it may do.
    pub scope: Scope,
    /// The conference it is bound to (`None` for admin).
    pub conference_id: Option<i64>,
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

impl Principal {
    /// The caller of an unrevoked token found by its secret; 401 when none was found.
    pub fn from_token(token: Option<ApiToken>) -> Result<Self, ApiError> {
        let token = token.ok_or(ApiError::Unauthorized)?;
        tracing::debug!(token_id = token.id, scope = %token.scope, "authenticated");
        Ok(Principal { token_id: token.id, scope: token.scope, conference_id: token.conference_id, name: token.name })
    }

    /// Whether this token may make a request that tokens of `scopes` (and admin tokens) may make
    /// in their own conference, of `conference` (found by `slug`, `None` when no conference has
    /// it). Other scopes get 403 whatever the slug; another conference's token gets the 404 of a
    /// missing conference.
    pub fn admit(&self, conference: Option<Conference>, slug: &str, scopes: &[Scope]) -> Result<Conference, ApiError> {
        if self.scope != Scope::Admin && !scopes.contains(&self.scope) {
            return Err(ApiError::Forbidden);
        }
        match conference {
            Some(conference) if self.scope == Scope::Admin || self.conference_id == Some(conference.id) => {
                Ok(conference)
            }
            _ => Err(VoucherError::ConferenceNotFound(slug.to_owned()).into()),
        }
    }

    /// The store as this token writes to it: every write's audit record names the token.
    pub fn store(&self, state: &AppState) -> Arc<dyn Store> {
        acting(Arc::clone(&state.store), Actor::Token { id: self.token_id, name: self.name.clone() })
    }

    /// Only admin tokens may do this (create conferences).
    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self.scope {
            Scope::Admin => Ok(()),
            Scope::Manage | Scope::Checkout => Err(ApiError::Forbidden),
        }
    }

    /// The conference `slug`, for a request that tokens of `scopes` (and admin tokens) may make
    /// in their own conference. Other scopes get 403 whatever the slug; another conference's
    /// token gets the 404 of a missing conference.
    pub async fn conference_for(&self, state: &AppState, slug: &str, scopes: &[Scope]) -> Result<Conference, ApiError> {
        if self.scope != Scope::Admin && !scopes.contains(&self.scope) {
            return Err(ApiError::Forbidden);
        }
        let conference = catalog::conference(state.store.as_ref(), slug).await?;
        self.admit(Some(conference), slug, scopes)
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
        let conference = principal.conference_for(state, &slug, &[Scope::Manage]).await?;
        Ok(Managed { principal, conference })
    }
}
