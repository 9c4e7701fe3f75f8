//! News for subscribers: an incident update or a change to a maintenance window, and the request
//! to confirm a subscription, as an email (subject, plain text, HTML with the Markdown rendered)
//! or as a webhook's JSON body.
//!
//! The outbox renders a message when it sends it, from ids: what a subscriber reads is the update
//! as it is then (an edited typo is fixed, a deleted update is not sent).

use minijinja::context;
use upbeat_core::Config;
use upbeat_core::incident::{Incident, IncidentStatus, IncidentUpdate};
use upbeat_core::maintenance::Maintenance;
use upbeat_core::notify::{AlertEvent, Rendered};

use crate::incidents::rfc3339;
use crate::render::{Local, render};

/// What a piece of news is about.
#[derive(Clone, Copy, Debug)]
pub enum News<'a> {
    Incident { incident: &'a Incident, update: &'a IncidentUpdate },
    MaintenanceScheduled(&'a Maintenance),
    MaintenanceStarted(&'a Maintenance),
    MaintenanceCompleted(&'a Maintenance),
}

impl News<'_> {
    /// The event's stable name in webhook bodies.
    pub fn event(&self) -> &'static str {
        match self {
            News::Incident { incident, update } => AlertEvent::of_incident_update(incident, update).name(),
            News::MaintenanceScheduled(_) => "maintenance_scheduled",
            News::MaintenanceStarted(_) => "maintenance_started",
            News::MaintenanceCompleted(_) => "maintenance_completed",
        }
    }

    /// The components it touches, for subscribers' filters.
    pub fn components(&self) -> Vec<String> {
        match self {
            // What the update changes; an update that changes none is about the whole incident.
            News::Incident { incident, update } if update.components.is_empty() => {
                incident.components.keys().cloned().collect()
            }
            News::Incident { update, .. } => update.components.keys().cloned().collect(),
            News::MaintenanceScheduled(m) | News::MaintenanceStarted(m) | News::MaintenanceCompleted(m) => {
                m.components.clone()
            }
        }
    }
}

/// An email, ready for the mailer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Letter {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub headers: Vec<(String, String)>,
}

impl Letter {
    /// The letter addressed to `to`.
    pub fn email(self, to: String) -> Rendered {
        Rendered::Email { to: vec![to], subject: self.subject, text: self.text, html: self.html, headers: self.headers }
    }
}

fn link(config: &Config, path: &str) -> String {
    format!("{}{path}", config.page.base_url)
}

fn component_names(config: &Config, ids: &[String]) -> String {
    ids.iter()
        .map(|id| config.component(id).map_or_else(|| id.clone(), |c| c.name.clone()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn letter(config: &Config, subject: String, ctx: minijinja::Value) -> Letter {
    let common = context! { page => config.page.title.clone(), language => config.page.language.clone(), subject => subject.clone() };
    let ctx = context! { ..common, ..ctx };
    Letter { text: render("news.txt", ctx.clone()), html: render("news.html", ctx), subject, headers: Vec::new() }
}

/// The mail for `news`, to a subscriber whose unsubscribe link is `unsubscribe`: in the footer,
/// and in the headers RFC 2369 and RFC 8058 name, for mail clients' one-click button (a POST).
pub fn letter_for(config: &Config, news: &News<'_>, unsubscribe: &str) -> Letter {
    let mut letter = news_letter(config, news, unsubscribe);
    letter.headers = vec![
        ("List-Unsubscribe".to_owned(), format!("<{unsubscribe}>")),
        ("List-Unsubscribe-Post".to_owned(), "List-Unsubscribe=One-Click".to_owned()),
    ];
    letter
}

fn news_letter(config: &Config, news: &News<'_>, unsubscribe: &str) -> Letter {
    let local = Local(config.page.time_zone);
    let page = &config.page.title;
    let footer = format!("You get this because you subscribed to {page} status updates.");
    match news {
        News::Incident { incident, update } => {
            let status = update.status.label();
            let components: Vec<String> = incident.components.keys().cloned().collect();
            let subject = format!("[{page}] {}: {status}", incident.title);
            let accent = match update.status {
                IncidentStatus::Resolved => "#1a7f37",
                _ => "#cf222e",
            };
            letter(
                config,
                subject,
                context! {
                    heading => incident.title.clone(), status, accent,
                    when => local.at(update.created_at),
                    components => component_names(config, &components),
                    body_html => minijinja::Value::from_safe_string(crate::markdown::to_html(&update.body)),
                    body_text => crate::markdown::to_text(&update.body),
                    link => link(config, &format!("incident/{}", incident.id)), link_label => "Follow this incident",
                    footer, unsubscribe,
                },
            )
        }
        News::MaintenanceScheduled(m) | News::MaintenanceStarted(m) | News::MaintenanceCompleted(m) => {
            let (what, status) = match news {
                News::MaintenanceScheduled(_) => ("Scheduled maintenance", "Scheduled"),
                News::MaintenanceStarted(_) => ("Maintenance started", "In progress"),
                _ => ("Maintenance completed", "Completed"),
            };
            let subject = format!("[{page}] {what}: {}", m.title);
            // The newest note, or the announcement.
            let body = m.updates.first().map(|u| u.body.as_str()).unwrap_or_default();
            letter(
                config,
                subject,
                context! {
                    heading => m.title.clone(), status, accent => "#6e7781",
                    when => format!("{} to {}", local.at(m.scheduled_for), local.at(m.scheduled_until)),
                    components => component_names(config, &m.components),
                    body_html => minijinja::Value::from_safe_string(crate::markdown::to_html(body)),
                    body_text => crate::markdown::to_text(body),
                    link => config.page.base_url.clone(), link_label => "Status page",
                    footer, unsubscribe,
                },
            )
        }
    }
}

/// The double opt-in request: one link to confirm, nothing else.
pub fn confirmation(config: &Config, confirm: &str) -> Letter {
    let page = &config.page.title;
    let hours = upbeat_core::subscriber::CONFIRM_FOR.num_hours();
    let body = format!(
        "Someone, hopefully you, asked to get {page} status updates at this address. \
         Follow the link within {hours} hours to confirm. If it was not you, ignore this message: \
         nothing more will be sent."
    );
    letter(
        config,
        format!("[{page}] Confirm your subscription"),
        context! {
            heading => "Confirm your subscription", accent => "#0969da",
            // Plain text: the template escapes it.
            body_html => body.clone(),
            body_text => body,
            link => confirm, link_label => "Confirm subscription",
            footer => format!("{page} status updates."),
        },
    )
}

/// The JSON a webhook subscriber gets (schema version 1): `event`, `page`, and `incident` with the
/// update this is about, or `maintenance`; plus the link that ends the subscription.
pub fn webhook_body(config: &Config, news: &News<'_>, unsubscribe: &str) -> serde_json::Value {
    let page = serde_json::json!({ "title": config.page.title, "url": config.page.base_url });
    let mut body =
        serde_json::json!({ "version": 1, "event": news.event(), "page": page, "unsubscribe_url": unsubscribe });
    match news {
        News::Incident { incident, update } => {
            body["incident"] = serde_json::json!({
                "id": incident.id,
                "title": incident.title,
                "status": incident.status.as_str(),
                "impact": incident.impact.as_str(),
                "url": link(config, &format!("incident/{}", incident.id)),
                "started_at": rfc3339(incident.started_at),
                "resolved_at": incident.resolved_at.map(rfc3339),
                "components": incident.components.iter().map(|(id, s)| (id.clone(), s.as_str())).collect::<std::collections::BTreeMap<_, _>>(),
                "update": {
                    "id": update.id,
                    "status": update.status.as_str(),
                    "body": update.body,
                    "created_at": rfc3339(update.created_at),
                },
            });
        }
        News::MaintenanceScheduled(m) | News::MaintenanceStarted(m) | News::MaintenanceCompleted(m) => {
            body["maintenance"] = serde_json::json!({
                "id": m.id,
                "title": m.title,
                "scheduled_for": rfc3339(m.scheduled_for),
                "scheduled_until": rfc3339(m.scheduled_until),
                "components": m.components,
                "message": m.updates.first().map(|u| u.body.as_str()),
            });
        }
    }
    body
}
