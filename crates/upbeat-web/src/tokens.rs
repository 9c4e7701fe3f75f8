//! `/api/v1/tokens`: the API tokens an operator can see and revoke (admin scope), with the same
//! fields `upbeat token list` prints. A token itself is never shown again after it is made: only
//! its prefix, which is enough to tell tokens apart and not enough to use one.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Serialize;
use upbeat_core::Scope;
use upbeat_store::{Revoked, TokenRecord, TokenRef};

use crate::auth::Bearer;
use crate::incidents::rfc3339;
use crate::params::ApiPath;
use crate::{ApiError, AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/tokens", get(list)).route("/tokens/{id}", delete(revoke))
}

/// A token as the API and `upbeat token list --format json` show it.
#[derive(Serialize)]
pub struct TokenJson {
    pub id: i64,
    pub name: String,
    pub scope: &'static str,
    pub prefix: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

impl From<TokenRecord> for TokenJson {
    fn from(t: TokenRecord) -> Self {
        TokenJson {
            id: t.id,
            name: t.name,
            scope: t.scope.as_str(),
            prefix: t.prefix,
            created_at: rfc3339(t.created_at),
            last_used_at: t.last_used_at.map(rfc3339),
        }
    }
}

async fn list(State(state): State<AppState>, bearer: Bearer) -> Result<Response, ApiError> {
    bearer.require(Scope::Admin)?;
    let tokens: Vec<TokenJson> = state.store.tokens().await?.into_iter().map(TokenJson::from).collect();
    Ok(Json(serde_json::json!({ "tokens": tokens })).into_response())
}

/// Revokes a token; the very next request that carries it is answered 401, since every request
/// looks its token up in the database.
async fn revoke(
    State(state): State<AppState>,
    bearer: Bearer,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    bearer.require(Scope::Admin)?;
    match state.store.revoke_token(TokenRef::Id(id)).await? {
        Revoked::Token(token) => {
            tracing::info!(token_id = token.id, name = %token.name, by = bearer.0.id, "revoked an API token");
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        // An id matches one token at most; anything else is nothing to revoke.
        Revoked::Unknown | Revoked::Ambiguous(_) => {
            Err(ApiError::not_found("token_not_found", format!("no token has id {id}")))
        }
    }
}
