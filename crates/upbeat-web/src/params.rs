//! Query parameters shared by the API's list routes.

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use serde::Deserialize;

use crate::ApiError;

/// `?limit=N`, 1 to 1000; any other parameter is an error, never ignored.
pub struct Limit(pub Option<usize>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitParams {
    limit: Option<usize>,
}

impl Limit {
    pub fn or(self, default: usize) -> usize {
        self.0.unwrap_or(default)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Limit {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params: Result<Query<LimitParams>, QueryRejection> = Query::from_request_parts(parts, state).await;
        let Query(params) = params.map_err(|e| ApiError::bad_request("invalid_query", "limit", e.body_text()))?;
        match params.limit {
            Some(limit) if !(1..=1000).contains(&limit) => {
                Err(ApiError::bad_request("invalid_query", "limit", "limit must be between 1 and 1000"))
            }
            limit => Ok(Limit(limit)),
        }
    }
}

/// A path parameter that answers a malformed value (`/incidents/abc`) with the API's JSON error.
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(e) => Err(ApiError::new(axum::http::StatusCode::BAD_REQUEST, "invalid_path", e.body_text())),
        }
    }
}
