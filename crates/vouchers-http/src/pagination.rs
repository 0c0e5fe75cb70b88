//! Cursor pagination: `?limit=` (1 to 1000, default 100) and an opaque `?cursor=` from the
//! previous page's `next_cursor`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

/// The largest page.
pub const MAX_LIMIT: i64 = 1000;
/// The page size when none is asked for.
pub const DEFAULT_LIMIT: i64 = 100;

/// `limit` and `cursor`, as every list takes them.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    /// The items, in order.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Where a page starts: after an id (vouchers, batches) or after a slug (ticket types, add-ons).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// After this id.
    Id(i64),
    /// After this slug.
    Slug(String),
}

impl Position {
    /// The opaque cursor text.
    pub fn encode(&self) -> String {
        let plain = match self {
            Position::Id(id) => format!("i:{id}"),
            Position::Slug(slug) => format!("s:{slug}"),
        };
        URL_SAFE_NO_PAD.encode(plain)
    }

    fn decode(cursor: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
        let plain = String::from_utf8(bytes).ok()?;
        match plain.split_once(':')? {
            ("i", id) => id.parse().ok().filter(|id: &i64| *id >= 0).map(Position::Id),
            ("s", slug) => Some(Position::Slug(slug.to_owned())),
            _ => None,
        }
    }
}

impl PageParams {
    /// The checked page size.
    pub fn limit(&self) -> Result<i64, ApiError> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(limit) if (1..=MAX_LIMIT).contains(&limit) => Ok(limit),
            Some(limit) => {
                Err(ApiError::invalid("limit", format!("limit must be between 1 and {MAX_LIMIT}, got {limit}")))
            }
        }
    }

    fn position(&self) -> Result<Option<Position>, ApiError> {
        self.cursor
            .as_deref()
            .map(|c| {
                Position::decode(c).ok_or_else(|| ApiError::invalid("cursor", "cursor is not one this API issued"))
            })
            .transpose()
    }

    /// The id the page starts after (0: the first page).
    pub fn after_id(&self) -> Result<i64, ApiError> {
        match self.position()? {
            None => Ok(0),
            Some(Position::Id(id)) => Ok(id),
            Some(Position::Slug(_)) => Err(ApiError::invalid("cursor", "cursor belongs to another list")),
        }
    }

    /// The slug the page starts after (`None`: the first page).
    pub fn after_slug(&self) -> Result<Option<String>, ApiError> {
        match self.position()? {
            None => Ok(None),
            Some(Position::Slug(slug)) => Ok(Some(slug)),
            Some(Position::Id(_)) => Err(ApiError::invalid("cursor", "cursor belongs to another list")),
        }
    }
}

/// Builds a page from up to `limit + 1` items fetched after the cursor: the extra item only says
/// that another page exists.
pub fn page<T>(mut items: Vec<T>, limit: i64, position: impl Fn(&T) -> Position) -> Page<T> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|last| position(last).encode())
    } else {
        None
    };
    Page { items, next_cursor }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        for p in [Position::Id(42), Position::Slug("early-bird".into())] {
            assert_eq!(Position::decode(&p.encode()), Some(p));
        }
        assert_eq!(Position::decode("not base64!"), None);
        assert_eq!(Position::decode(&URL_SAFE_NO_PAD.encode("i:-5")), None);
        let params = PageParams { limit: Some(1001), cursor: None };
        assert!(params.limit().is_err());
    }

    #[test]
    fn pages_say_when_more_follow() {
        let p = page(vec![1, 2, 3], 2, |i| Position::Id(*i));
        assert_eq!(p.items, vec![1, 2]);
        assert_eq!(p.next_cursor, Some(Position::Id(2).encode()));
        assert_eq!(page(vec![1, 2], 2, |i| Position::Id(*i)).next_cursor, None);
    }
}
