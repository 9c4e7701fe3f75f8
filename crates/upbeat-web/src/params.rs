//! Extractors the API's routes share: a JSON body, a path id and a `limit`, each answering bad
//! input with the API's JSON error.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::Deserialize;
use serde::de::DeserializeOwned;

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

/// A JSON request body, parsed here so every malformed body gets the same JSON error; `raw` keeps
/// the bytes, so a retried POST can be recognised by their hash.
pub struct JsonBody<T> {
    pub value: T,
    pub raw: Bytes,
}

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (value, raw) = parse_body(Bytes::from_request(request, state).await)?;
        Ok(JsonBody { value, raw })
    }
}

/// Parses a JSON body into `T`, with errors in the API's shape.
fn parse_body<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<(T, Bytes), ApiError> {
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", "the request body is too large")
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", e.body_text())
        }
    })?;
    match serde_json::from_slice::<T>(&bytes) {
        Ok(value) => Ok((value, bytes)),
        Err(e) => {
            let message = e.to_string();
            // serde names the offending field in backticks; report it in `field` too.
            let field = message.split('`').nth(1).map(str::to_owned);
            Err(ApiError { field, ..ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", message) })
        }
    }
}
