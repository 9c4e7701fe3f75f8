//! Subscriptions: the public form (`/subscribe`), the confirmation and unsubscribe links, and
//! `/api/v1/subscribers` for operators.
//!
//! The form takes email addresses only, with double opt-in: nothing but one confirmation mail is
//! sent before the link in it is followed, and asking again within ten minutes sends nothing,
//! so the form cannot flood someone's inbox. The answer is the same whether or not the address
//! was subscribed, so the form does not tell strangers who is. Webhook subscribers are added
//! through the API only: a public form that made the server call any URL would let anyone aim it
//! at the operator's own network.
//!
//! Unsubscribing follows RFC 8058: the mail's `List-Unsubscribe` link answers a POST (what mail
//! clients send for one-click unsubscribe) by unsubscribing; a GET shows a button, because mail
//! scanners follow links and must not unsubscribe anyone.

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use minijinja::context;
use serde::{Deserialize, Serialize};
use upbeat_core::Scope;
use upbeat_core::notify::email::check_address;
use upbeat_core::subscriber::{LinkError, LinkPurpose, Subscriber, SubscriberKind, check_webhook_url, verify};
use upbeat_store::{NewSubscriber, Store, StoreError};

use crate::auth::Bearer;
use crate::incidents::rfc3339;
use crate::params::{ApiPath, JsonBody};
use crate::render::{Local, render};
use crate::{ApiError, AppState};

/// The setting that holds the key signing subscription links.
const KEY_SETTING: &str = "subscription_key";

/// The key that signs subscription links, made once per database and shared by every node.
pub async fn subscription_key(store: &dyn Store) -> Result<Vec<u8>, StoreError> {
    let make = || {
        let mut key = [0u8; 32];
        // Without randomness the key would be guessable: better no subscriptions than forged links.
        getrandom::fill(&mut key).expect("the operating system's random number generator");
        hex::encode(key)
    };
    let text = store.setting(KEY_SETTING, &make).await?;
    hex::decode(&text).map_err(|e| StoreError::Corrupt(format!("the subscription key is not hex: {e}")))
}

/// Public pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/subscribe", get(form).post(submit))
        .route("/subscribe/confirm/{token}", get(confirm))
        .route("/unsubscribe/{token}", get(unsubscribe_form).post(unsubscribe))
}

/// `/api/v1/subscribers`.
pub fn api_router() -> Router<AppState> {
    Router::new().route("/subscribers", get(list).post(create)).route("/subscribers/{id}", get(show).delete(remove))
}

struct PageText<'a> {
    heading: &'a str,
    message: String,
    error: bool,
    form: &'a str,
    email: String,
    action: String,
    checked: Vec<String>,
}

impl<'a> PageText<'a> {
    fn new(heading: &'a str, message: impl Into<String>) -> Self {
        PageText {
            heading,
            message: message.into(),
            error: false,
            form: "",
            email: String::new(),
            action: String::new(),
            checked: Vec::new(),
        }
    }
}

fn page(state: &AppState, status: StatusCode, root: &str, text: PageText<'_>) -> Response {
    let config = &state.config;
    let components: Vec<minijinja::Value> = config
        .components
        .iter()
        .filter(|c| c.public)
        .map(|c| context! { id => c.id.clone(), name => c.name.clone(), checked => text.checked.contains(&c.id) })
        .collect();
    let html = render(
        "subscribe.html",
        context! {
            title => config.page.title.clone(), language => config.page.language.clone(),
            time_zone => config.page.time_zone.name(), generated => Local(config.page.time_zone).at((state.now)()),
            root, logo => config.page.logo.is_some(), heading => text.heading, message => text.message, error => text.error, form => text.form,
            email => text.email, action => text.action, components,
        },
    );
    let mut response = (status, Html(html)).into_response();
    // Answers about one address: never cached, never indexed.
    response.headers_mut().insert(axum::http::header::CACHE_CONTROL, "no-store".parse().expect("header value"));
    response
}

fn unavailable(state: &AppState, root: &str) -> Response {
    let text = PageText {
        error: true,
        ..PageText::new("Subscribe", "Subscriptions are unavailable right now; try again later.")
    };
    page(state, StatusCode::SERVICE_UNAVAILABLE, root, text)
}

async fn form(State(state): State<AppState>) -> Response {
    if state.config.smtp.is_none() {
        let text = PageText::new("Subscribe", "This page does not send email updates. Its feeds are linked below.");
        return page(&state, StatusCode::NOT_FOUND, "", text);
    }
    let text = PageText { form: "subscribe", ..PageText::new("Get updates by email", "") };
    page(&state, StatusCode::OK, "", text)
}

async fn submit(State(state): State<AppState>, Form(fields): Form<Vec<(String, String)>>) -> Response {
    if state.config.smtp.is_none() {
        return form(State(state)).await;
    }
    let email = fields.iter().find(|(k, _)| k == "email").map(|(_, v)| v.trim().to_owned()).unwrap_or_default();
    let mut components: Vec<String> = fields.iter().filter(|(k, _)| k == "component").map(|(_, v)| v.clone()).collect();
    components.sort();
    components.dedup();
    let retry = |message: String| PageText {
        error: true,
        form: "subscribe",
        email: email.clone(),
        checked: components.clone(),
        ..PageText::new("Get updates by email", message)
    };
    let address = match check_address(&email) {
        Ok(address) => address,
        Err(e) => return page(&state, StatusCode::BAD_REQUEST, "", retry(e)),
    };
    if let Some(unknown) = components.iter().find(|c| !state.config.component(c).is_some_and(|c| c.public)) {
        return page(
            &state,
            StatusCode::BAD_REQUEST,
            "",
            retry(format!("`{unknown}` is not a component of this page")),
        );
    }
    let new = NewSubscriber { kind: SubscriberKind::Email, address, components, confirmed: false };
    match state.store.subscribe(&new, (state.now)()).await {
        Ok(_) => {
            let text = PageText::new(
                "Check your inbox",
                format!(
                    "If {email} is not subscribed yet, a message with a link to confirm is on its way. \
                     Follow it to start getting updates."
                ),
            );
            page(&state, StatusCode::OK, "", text)
        }
        Err(e) => {
            tracing::error!(error = %e, "could not store a subscription");
            unavailable(&state, "")
        }
    }
}

/// Which subscriber a link names, or the page that says why it does not work.
async fn from_link(state: &AppState, purpose: LinkPurpose, token: &str, root: &str) -> Result<Subscriber, Response> {
    let key = subscription_key(state.store.as_ref()).await.map_err(|_| unavailable(state, root))?;
    let heading = match purpose {
        LinkPurpose::Confirm => "Confirm your subscription",
        LinkPurpose::Unsubscribe => "Unsubscribe",
    };
    let refused = |message: String| {
        let text = PageText { error: true, ..PageText::new(heading, message) };
        page(state, StatusCode::NOT_FOUND, root, text)
    };
    let id = verify(&key, purpose, token, (state.now)()).map_err(|e: LinkError| refused(e.to_string()))?;
    match state.store.subscriber(id).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(refused("This subscription no longer exists.".to_owned())),
        Err(_) => Err(unavailable(state, root)),
    }
}

/// The link handlers answer with a page either way: `Err` is the page saying why a link does not work.
type Answer = Result<Response, Response>;

async fn confirm(State(state): State<AppState>, axum::extract::Path(token): axum::extract::Path<String>) -> Answer {
    let root = "../../";
    let subscriber = from_link(&state, LinkPurpose::Confirm, &token, root).await?;
    if subscriber.unsubscribed_at.is_some() {
        let text = PageText::new("Unsubscribed", "This address unsubscribed since; subscribe again to get updates.");
        return Ok(page(&state, StatusCode::OK, root, text));
    }
    Ok(match state.store.confirm_subscriber(subscriber.id, (state.now)()).await {
        Ok(Some(s)) => {
            let text = PageText::new("You are subscribed", format!("{} will get updates from now on.", s.address));
            page(&state, StatusCode::OK, root, text)
        }
        _ => unavailable(&state, root),
    })
}

fn unsubscribed(state: &AppState, root: &str, address: &str) -> Response {
    page(state, StatusCode::OK, root, PageText::new("Unsubscribed", format!("{address} gets no more updates.")))
}

async fn unsubscribe_form(
    State(state): State<AppState>,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> Answer {
    let root = "../";
    let subscriber = from_link(&state, LinkPurpose::Unsubscribe, &token, root).await?;
    if subscriber.unsubscribed_at.is_some() {
        return Ok(unsubscribed(&state, root, &subscriber.address));
    }
    let text = PageText {
        form: "unsubscribe",
        email: subscriber.address,
        action: format!("{root}unsubscribe/{token}"),
        ..PageText::new("Unsubscribe", "")
    };
    Ok(page(&state, StatusCode::OK, root, text))
}

async fn unsubscribe(State(state): State<AppState>, axum::extract::Path(token): axum::extract::Path<String>) -> Answer {
    let root = "../";
    let subscriber = from_link(&state, LinkPurpose::Unsubscribe, &token, root).await?;
    Ok(match state.store.unsubscribe(subscriber.id, (state.now)()).await {
        Ok(Some(s)) => unsubscribed(&state, root, &s.address),
        _ => unavailable(&state, root),
    })
}

#[derive(Serialize)]
struct SubscriberJson {
    id: i64,
    kind: SubscriberKind,
    address: String,
    components: Vec<String>,
    /// pending, active or unsubscribed
    state: &'static str,
    created_at: String,
    confirmed_at: Option<String>,
    unsubscribed_at: Option<String>,
}

impl From<Subscriber> for SubscriberJson {
    fn from(s: Subscriber) -> Self {
        SubscriberJson {
            id: s.id,
            kind: s.kind,
            state: s.state(),
            created_at: rfc3339(s.created_at),
            confirmed_at: s.confirmed_at.map(rfc3339),
            unsubscribed_at: s.unsubscribed_at.map(rfc3339),
            address: s.address,
            components: s.components,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    after: Option<i64>,
    limit: Option<usize>,
}

/// Subscribers, oldest first, a page at a time: `?after=<last id>&limit=N`. Addresses are
/// personal data: admin tokens only.
async fn list(
    State(state): State<AppState>,
    bearer: Bearer,
    params: Result<axum::extract::Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    bearer.require(Scope::Admin)?;
    let axum::extract::Query(params) =
        params.map_err(|e| ApiError::bad_request("invalid_query", "after", e.body_text()))?;
    let limit = match params.limit {
        Some(l) if !(1..=1000).contains(&l) => {
            return Err(ApiError::bad_request("invalid_query", "limit", "limit must be between 1 and 1000"));
        }
        l => l.unwrap_or(100),
    };
    let subscribers = state.store.subscribers(params.after.unwrap_or(0), limit, false).await?;
    let next = (subscribers.len() == limit).then(|| subscribers.last().map(|s| s.id)).flatten();
    let subscribers: Vec<SubscriberJson> = subscribers.into_iter().map(SubscriberJson::from).collect();
    Ok(Json(serde_json::json!({ "subscribers": subscribers, "next_after": next })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    email: Option<String>,
    webhook_url: Option<String>,
    #[serde(default)]
    components: Vec<String>,
    /// The operator vouches for the address: no confirmation mail.
    #[serde(default)]
    skip_confirmation: bool,
}

async fn create(
    State(state): State<AppState>,
    bearer: Bearer,
    body: JsonBody<CreateBody>,
) -> Result<Response, ApiError> {
    bearer.require(Scope::Admin)?;
    let body = body.value;
    let (kind, address) = match (&body.email, &body.webhook_url) {
        (Some(email), None) => {
            if state.config.smtp.is_none() && !body.skip_confirmation {
                return Err(ApiError::bad_request(
                    "smtp_not_configured",
                    "email",
                    "email subscribers need [smtp] in the configuration to confirm",
                ));
            }
            (
                SubscriberKind::Email,
                check_address(email.trim()).map_err(|e| ApiError::bad_request("invalid_value", "email", e))?,
            )
        }
        (None, Some(url)) => (
            SubscriberKind::Webhook,
            check_webhook_url(url.trim()).map_err(|e| ApiError::bad_request("invalid_value", "webhook_url", e))?,
        ),
        _ => {
            return Err(ApiError::bad_request(
                "invalid_value",
                "email",
                "give exactly one of `email` and `webhook_url`",
            ));
        }
    };
    if let Some(unknown) = body.components.iter().find(|c| state.config.component(c).is_none()) {
        return Err(ApiError::bad_request(
            "invalid_value",
            "components",
            format!("`{unknown}` is not a declared component"),
        ));
    }
    let mut components = body.components;
    components.sort();
    components.dedup();
    // A webhook has no inbox to confirm from: the operator adding it is the confirmation.
    let confirmed = body.skip_confirmation || kind == SubscriberKind::Webhook;
    let new = NewSubscriber { kind, address, components, confirmed };
    let subscribed = state.store.subscribe(&new, (state.now)()).await?;
    Ok((StatusCode::CREATED, Json(SubscriberJson::from(subscribed.subscriber))).into_response())
}

fn not_found(id: i64) -> ApiError {
    ApiError::not_found("subscriber_not_found", format!("no subscriber has id {id}"))
}

async fn show(State(state): State<AppState>, bearer: Bearer, ApiPath(id): ApiPath<i64>) -> Result<Response, ApiError> {
    bearer.require(Scope::Admin)?;
    let subscriber = state.store.subscriber(id).await?.ok_or_else(|| not_found(id))?;
    Ok(Json(SubscriberJson::from(subscriber)).into_response())
}

/// Forgets a subscriber and its address; what was queued for it is not sent.
async fn remove(
    State(state): State<AppState>,
    bearer: Bearer,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    bearer.require(Scope::Admin)?;
    if state.store.delete_subscriber(id).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(not_found(id))
    }
}
