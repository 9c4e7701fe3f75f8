//! Bearer tokens: `Authorization: Bearer <token>`, looked up by the SHA-256 of the token.
//!
//! Tokens are 256 random bits, so a fast hash is enough: nobody can guess their way to a
//! preimage, and a leaked database holds nothing that authenticates.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use upbeat_core::Scope;
use upbeat_store::TokenRecord;

use crate::{ApiError, AppState};

/// The hash stored for a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
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
        match state.store.token_by_hash(&token_hash(token)).await? {
            Some(record) => Ok(Bearer(record)),
            None => Err(ApiError::unauthorized("unknown token")),
        }
    }
}
