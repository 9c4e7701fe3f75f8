//! Bearer tokens: `Authorization: Bearer <token>`, looked up by the SHA-256 of the token.
//!
//! Tokens are 256 random bits, so a fast hash is enough: nobody can guess their way to a
//! preimage, and a leaked database holds nothing that authenticates.
//!
//! Every request looks its token up in the database (there is no cache), so a revoked token is
//! refused from the next request on. A token's last use is recorded to the minute: the store's
//! conditional `UPDATE` keeps it to one write a minute across nodes, and [`TokenUses`] keeps a
//! burst of requests in this process from even trying.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use upbeat_core::Scope;
use upbeat_store::{TOKEN_USE_RESOLUTION, TokenRecord};

use crate::{ApiError, AppState};

/// The hash stored for a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// How many characters of a token are kept to recognise it by: `upb_` and 8 hex digits, 32 of its
/// 256 random bits, which leaves the rest as unguessable as ever.
pub const PREFIX_CHARS: usize = 12;

/// The part of a token `token list` shows and `token revoke` accepts.
pub fn token_prefix(token: &str) -> &str {
    token.get(..PREFIX_CHARS).unwrap_or(token)
}

/// When this process last set out to record each token's use.
#[derive(Debug, Default)]
pub struct TokenUses(Mutex<HashMap<i64, DateTime<Utc>>>);

impl TokenUses {
    /// Whether a use of `token` at `now` is worth a write: the store's record is older than
    /// [`TOKEN_USE_RESOLUTION`] and this process has not tried within it. A true answer claims the
    /// attempt, so of a burst of concurrent requests only one goes to the database.
    pub fn claim(&self, token: &TokenRecord, now: DateTime<Utc>) -> bool {
        let recent = |at: DateTime<Utc>| at <= now && now - at < TOKEN_USE_RESOLUTION;
        if token.last_used_at.is_some_and(recent) {
            return false;
        }
        // A poisoned map only means another request panicked mid-insert; its data is still a map.
        let mut tried = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if tried.get(&token.id).copied().is_some_and(recent) {
            return false;
        }
        tried.insert(token.id, now);
        true
    }
}

/// A request that carried a valid token. Handlers state the scope they need with [`Bearer::require`].
pub struct Bearer(pub TokenRecord);

impl Bearer {
    pub fn require(&self, needed: Scope) -> Result<(), ApiError> {
        if self.0.scope.allows(needed) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this token has scope `{}`; this request needs `{}`",
                self.0.scope.as_str(),
                needed.as_str()
            )))
        }
    }
}

impl FromRequestParts<AppState> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("send `Authorization: Bearer <token>`"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::unauthorized("the Authorization header must be `Bearer <token>`"))?;
        let Some(record) = state.store.token_by_hash(&token_hash(token)).await? else {
            return Err(ApiError::unauthorized("unknown token"));
        };
        let now = (state.now)();
        if state.token_uses.claim(&record, now)
            && let Err(e) = state.store.touch_token(record.id, now).await
        {
            // "Last used" is a convenience: a busy database must not fail the request itself.
            tracing::warn!(token_id = record.id, error = %e, "could not record a token's use");
        }
        Ok(Bearer(record))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn token(last_used_at: Option<DateTime<Utc>>) -> TokenRecord {
        TokenRecord {
            id: 7,
            name: "ci".into(),
            scope: Scope::Read,
            prefix: None,
            created_at: DateTime::default(),
            last_used_at,
        }
    }

    #[test]
    fn a_burst_claims_one_write_a_minute() {
        let t = |s: i64| Utc.timestamp_opt(1_700_000_000 + s, 0).single().unwrap_or_default();
        let uses = TokenUses::default();
        assert!(uses.claim(&token(None), t(0)));
        // The store still says "never used" while the first write is on its way: no second try.
        assert!((1..60).all(|s| !uses.claim(&token(None), t(s))));
        assert!(uses.claim(&token(Some(t(0))), t(60)), "a minute later it is due again");
        assert!(!uses.claim(&token(Some(t(100))), t(120)), "another node recorded it lately");
        assert_eq!(token_prefix("upb_0123456789abcdef"), "upb_01234567");
        assert_eq!(token_prefix("short"), "short");
    }
}
