//! API tokens: create (the secret is shown once, only its hash is stored), list, revoke, and
//! authenticate a presented secret.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::TryRngCore;
use sha2::{Digest, Sha256};

use crate::domain::{ApiToken, InvalidInput, Name, Scope, TokenSecret};
use crate::store::{NewToken, Store};
use crate::VoucherError;

/// Every secret starts with this, so a leaked one is easy to recognise (and to scan for).
pub const TOKEN_PREFIX: &str = "vch_";

/// Random bytes per secret: 256 bits from the operating system's CSPRNG.
const SECRET_BYTES: usize = 32;

/// A token just created: its secret, to show once, and the stored record.
#[derive(Debug, Clone)]
pub struct CreatedToken {
    /// The secret; it is not stored and cannot be shown again.
    pub secret: TokenSecret,
    /// The stored record.
    pub token: ApiToken,
}

/// The hex SHA-256 of a secret: what is stored and looked up. The secret has 256 bits of
/// entropy, so a fast hash is enough (no password stretching needed).
pub fn token_hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte & 0xf)]));
    }
    hex
}

/// Creates a token. `admin` tokens take no conference; `manage` and `checkout` tokens need one.
#[tracing::instrument(level = "debug", skip_all, fields(conference = conference))]
pub async fn create_token(
    store: &dyn Store,
    scope: Scope,
    conference: Option<&str>,
    name: Option<&str>,
) -> Result<CreatedToken, VoucherError> {
    match (scope, conference) {
        (Scope::Admin, Some(_)) => {
            return Err(InvalidInput::new(
                "conference",
                "an admin token is valid for every conference; give no conference",
            )
            .into())
        }
        (Scope::Manage | Scope::Checkout, None) => {
            return Err(InvalidInput::new("conference", format!("a {scope} token needs a conference")).into())
        }
        _ => {}
    }
    let name = name.map(|n| Name::parse("name", n)).transpose()?;

    let mut bytes = [0u8; SECRET_BYTES];
    OsRng.try_fill_bytes(&mut bytes).map_err(|e| VoucherError::Random(Box::new(e)))?;
    let secret = TokenSecret::new(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)));
    bytes.fill(0);
    let hash = token_hash(secret.expose());

    let mut tx = store.begin().await?;
    let conference = match conference {
        Some(slug) => {
            Some(tx.conference(slug).await?.ok_or_else(|| VoucherError::ConferenceNotFound(slug.to_owned()))?)
        }
        None => None,
    };
    let now = super::now();
    let new = NewToken {
        hash: &hash,
        scope,
        conference_id: conference.as_ref().map(|c| c.id),
        name: name.as_ref().map(Name::as_str),
    };
    let id = tx.insert_token(&new, now).await?;
    let changes = serde_json::json!({"scope": scope.as_str(), "name": new.name});
    let target = format!("token {id}");
    super::audit(tx.as_mut(), conference.as_ref().map(|c| c.id), "token.create", &target, changes).await?;
    tx.commit().await?;
    let token = ApiToken {
        id,
        scope,
        conference_id: conference.as_ref().map(|c| c.id),
        conference: conference.map(|c| c.slug),
        name: name.map(|n| n.as_str().to_owned()),
        created_at: now,
        revoked_at: None,
    };
    Ok(CreatedToken { secret, token })
}

/// Every token, revoked ones included.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list_tokens(store: &dyn Store) -> Result<Vec<ApiToken>, VoucherError> {
    Ok(store.tokens().await?)
}

/// Revokes a token: from now on it authenticates nothing.
#[tracing::instrument(level = "debug", skip_all, fields(id = id))]
pub async fn revoke_token(store: &dyn Store, id: i64) -> Result<(), VoucherError> {
    let conference_id = store.tokens().await?.into_iter().find(|t| t.id == id).and_then(|t| t.conference_id);
    let mut tx = store.begin().await?;
    if !tx.revoke_token(id, super::now()).await? {
        return Err(VoucherError::TokenNotFound(id));
    }
    super::audit(tx.as_mut(), conference_id, "token.revoke", &format!("token {id}"), serde_json::json!({})).await?;
    tx.commit().await?;
    Ok(())
}

/// The unrevoked token whose secret was presented, or `None`. Only the hash of the presented
/// secret reaches the database, and it is found through an index: nothing compares secret
/// bytes in a loop whose duration depends on them.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn authenticate(store: &dyn Store, presented: &TokenSecret) -> Result<Option<ApiToken>, VoucherError> {
    Ok(store.token_by_hash(&token_hash(presented.expose())).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_hex_sha256() {
        assert_eq!(token_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
