//! The command line: `upbeat serve`, `upbeat init`, `upbeat config check`, `upbeat token create|list|revoke`,
//! `upbeat backup`, and `upbeat incident open|update|resolve|list`, a thin client of a running
//! server's API ([`crate::client`] does the HTTP, [`crate::admin`] the token and backup commands;
//! this file parses arguments, gathers messages and prints).
//!
//! Every command returns an [`Exit`]; `main` prints and exits with its code. Configuration errors
//! exit 2 with one line per error, everything else that fails exits 1 with one clear line.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use clap::builder::PossibleValuesParser;
use clap::{Args, Parser, Subcommand};
use upbeat_core::config::ConfigErrors;
use upbeat_core::incident::{ComponentStatus, Impact, IncidentStatus};
use upbeat_core::{Config, Scope};
use upbeat_store::NewToken;

use crate::app::Application;
use crate::client::{self, Client, NewIncident, NewUpdate};
use crate::clock::{Clock, SystemClock};

pub const DEFAULT_DB: &str = "sqlite://upbeat.db";
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";
/// What `incident resolve` says when no message is given and none can be asked for.
pub const DEFAULT_RESOLVE_MESSAGE: &str = "This incident has been resolved.";

#[derive(Parser, Debug)]
#[command(name = "upbeat", version, about = "Uptime monitor, heartbeat monitor and status page in one binary.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Runs the monitors, the status page, the feeds and the API.
    Serve {
        #[command(flatten)]
        config: ConfigArg,
        #[command(flatten)]
        db: DbArg,
        /// Address to listen on; overrides `[server] listen`.
        #[arg(long, env = "UPBEAT_LISTEN")]
        listen: Option<SocketAddr>,
        /// For trying upbeat out: answer, on this machine, the channels and `[smtp]` that the
        /// configuration points at loopback addresses, and log what they receive (the example's
        /// alerts and mail go there).
        #[arg(long)]
        demo_sinks: bool,
    },
    /// Writes a commented starter configuration, `upbeat.toml`, and says what to run next.
    Init {
        /// The directory to write it in.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The status page's title; asked for on a terminal, else "Status".
        #[arg(long)]
        title: Option<String>,
        /// The page's public address, e.g. https://status.example.com/; asked for on a
        /// terminal, else http://127.0.0.1:8080/.
        #[arg(long)]
        base_url: Option<String>,
        /// A URL to watch with an HTTP monitor; asked for on a terminal, else the monitor is
        /// left commented out.
        #[arg(long)]
        url: Option<String>,
    },
    /// Works with the configuration file.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Works with the alert channels of the configuration.
    Channel {
        #[command(subcommand)]
        command: ChannelCommand,
    },
    /// Manages API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Copies the database, consistently, while `upbeat serve` may be writing to it. To restore:
    /// stop the server, move the copy in place of the database, start it.
    Backup {
        /// The file to write; an existing file is never overwritten.
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
        #[command(flatten)]
        db: DbArg,
    },
    /// Opens, updates, resolves and lists incidents on a running server, through its API.
    Incident {
        #[command(flatten)]
        remote: RemoteArgs,
        #[command(subcommand)]
        command: IncidentCommand,
    },
    /// Schedules, lists and completes maintenance windows on a running server, through its API.
    Maintenance {
        #[command(flatten)]
        remote: RemoteArgs,
        #[command(subcommand)]
        command: MaintenanceCommand,
    },
    /// Imports another status page's history: a Better Stack feed, a Statuspage history feed
    /// (RSS or Atom) or Statuspage's v2 JSON, from files or URLs; the format is recognised from
    /// the content. Importing the same thing twice changes nothing; a bad source imports nothing.
    Import {
        #[command(flatten)]
        db: DbArg,
        /// The old page's address, e.g. https://status.example.com/. Better Stack guids and
        /// incident links must start with it; serve upbeat at it and they come out unchanged.
        /// Defaults to the feed's own <link>.
        #[arg(long)]
        base_url: Option<String>,
        /// Parse and check everything, say what would be imported, write nothing.
        #[arg(long)]
        dry_run: bool,
        /// How long to wait for a URL.
        #[arg(long, default_value = "30s", value_parser = parse_duration)]
        timeout: std::time::Duration,
        /// Files, `-` for stdin, or http(s) URLs.
        #[arg(required = true)]
        sources: Vec<String>,
    },
    /// Prints uptime, downtime, outages, longest outage, MTTR and MTBF per monitor over a window.
    /// Maintenance is left out; time without data is reported as such, never as up.
    Report {
        #[command(flatten)]
        db: DbArg,
        /// Start of the window (RFC 3339, or a date: 2025-01-31); default 30 days before --to.
        #[arg(long, value_parser = parse_time)]
        from: Option<DateTime<Utc>>,
        /// End of the window (RFC 3339, or a date); default now.
        #[arg(long, value_parser = parse_time)]
        to: Option<DateTime<Utc>>,
        #[arg(long, value_enum, default_value = "table")]
        format: crate::import::Format,
    },
}

/// A time on the command line: RFC 3339, RFC 2822, or a date (midnight UTC).
fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc());
    }
    upbeat_import::dates::parse(text)
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    upbeat_core::duration::parse(text)
}

#[derive(Subcommand, Debug)]
pub enum MaintenanceCommand {
    /// Schedules a window and prints its id alone on stdout. Its status moves from scheduled to
    /// in progress to completed at its edges by itself.
    Schedule {
        /// The window's title.
        title: String,
        /// When it starts (RFC 3339).
        #[arg(long, value_name = "RFC3339", value_parser = rfc3339)]
        from: DateTime<Utc>,
        /// When it ends (RFC 3339).
        #[arg(long, value_name = "RFC3339", value_parser = rfc3339)]
        until: DateTime<Utc>,
        /// A component under maintenance during the window. Repeatable.
        #[arg(long = "component", value_name = "ID")]
        components: Vec<String>,
        /// The announcement's Markdown; `-` reads it from stdin.
        #[arg(long, value_name = "TEXT|-")]
        message: Option<String>,
    },
    /// Ends a window now; one that has not started is cancelled.
    Complete {
        /// The window's id.
        id: i64,
    },
    /// Lists windows, newest first, as the API's JSON.
    List,
}

/// Where the server is and how to authenticate; accepted before or after the subcommand.
#[derive(Args, Debug)]
pub struct RemoteArgs {
    /// The upbeat server's URL.
    #[arg(long, global = true, env = "UPBEAT_SERVER", default_value = DEFAULT_SERVER)]
    pub server: String,
    /// An API token (`upbeat token create --scope write`); required.
    #[arg(long, global = true, env = "UPBEAT_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum IncidentCommand {
    /// Opens an incident and prints its id alone on stdout.
    ///
    /// The message comes from --message, else from stdin when it is not a terminal, else from
    /// $VISUAL or $EDITOR. A retry of the request never creates the incident twice.
    Open {
        /// The incident's title.
        title: String,
        /// How bad it is (the server's default: minor).
        #[arg(long, value_parser = impacts())]
        impact: Option<String>,
        /// Where it stands (the server's default: investigating).
        #[arg(long, value_parser = incident_statuses())]
        status: Option<String>,
        /// An affected component, as ID or ID=STATUS; ID alone means ID=partial_outage. Repeatable.
        #[arg(long = "component", value_name = "ID[=STATUS]", value_parser = component_or_default)]
        components: Vec<(String, String)>,
        /// The first update's Markdown; `-` reads it from stdin.
        #[arg(long, value_name = "TEXT|-")]
        message: Option<String>,
        /// When it started (RFC 3339); default: now.
        #[arg(long, value_name = "RFC3339", value_parser = rfc3339)]
        started_at: Option<DateTime<Utc>>,
        /// The Idempotency-Key to send; default: a random one for this run.
        #[arg(long, value_name = "KEY")]
        idempotency_key: Option<String>,
    },
    /// Posts an update to an incident and prints the update's id.
    Update {
        /// The incident's id.
        id: i64,
        /// The incident's new status; needed to reopen a resolved incident.
        #[arg(long, value_parser = incident_statuses())]
        status: Option<String>,
        /// A component's new status, as ID=STATUS. Repeatable.
        #[arg(long = "component", value_name = "ID=STATUS", value_parser = component_with_status)]
        components: Vec<(String, String)>,
        /// The update's Markdown; `-` reads it from stdin.
        #[arg(long, value_name = "TEXT|-")]
        message: Option<String>,
        /// The update's time (RFC 3339); default: now.
        #[arg(long, value_name = "RFC3339", value_parser = rfc3339)]
        created_at: Option<DateTime<Utc>>,
    },
    /// Resolves an incident with a last update and prints the update's id.
    ///
    /// Without --message: on a terminal, $VISUAL or $EDITOR opens with "This incident has been
    /// resolved."; otherwise that is the message.
    Resolve {
        /// The incident's id.
        id: i64,
        /// The last update's Markdown; `-` reads it from stdin.
        #[arg(long, value_name = "TEXT|-")]
        message: Option<String>,
    },
    /// Lists incidents, newest first.
    List {
        /// How many (the server's default: 50).
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1000))]
        limit: Option<u16>,
        /// `table` for people, `json` for the API's answer as it is.
        #[arg(long, default_value = "table", value_parser = ["table", "json"])]
        format: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Checks the configuration and reports every error with its file, line and field.
    Check {
        #[command(flatten)]
        config: ConfigArg,
    },
}

#[derive(Subcommand, Debug)]
pub enum ChannelCommand {
    /// Sends a test message to one channel now, directly (not through the outbox), and says what
    /// the receiver answered. Exits 1 when it was not delivered.
    Test {
        #[command(flatten)]
        config: ConfigArg,
        /// The channel's id.
        id: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Creates a token and prints it, alone, on stdout. Only its hash is stored.
    Create {
        /// What the token is for, to recognise it later.
        #[arg(long)]
        name: String,
        /// read, write or admin.
        #[arg(long, default_value = "read", value_parser = parse_scope)]
        scope: Scope,
        #[command(flatten)]
        db: DbArg,
    },
    /// Lists tokens: id, name, scope, prefix (the token's first characters, never the token),
    /// when made and when last used (to the minute).
    List {
        /// `table` for people, `json` for the API's answer (`GET /api/v1/tokens`).
        #[arg(long, value_enum, default_value = "table")]
        format: crate::admin::Format,
        #[command(flatten)]
        db: DbArg,
    },
    /// Revokes one token, by name or prefix (as `token list` shows them) or by --id; from the next
    /// request on, it is refused. When several tokens match, none is revoked.
    Revoke {
        /// The token's name or prefix.
        #[arg(value_name = "NAME|PREFIX", required_unless_present = "id", conflicts_with = "id")]
        token: Option<String>,
        /// The token's id instead.
        #[arg(long)]
        id: Option<i64>,
        #[command(flatten)]
        db: DbArg,
    },
}

#[derive(Args, Debug)]
pub struct ConfigArg {
    /// The configuration file.
    #[arg(long, env = "UPBEAT_CONFIG", default_value = "upbeat.toml")]
    pub config: PathBuf,
}

#[derive(Args, Debug)]
pub struct DbArg {
    /// The database: sqlite://PATH.
    #[arg(long, env = "UPBEAT_DATABASE_URL", default_value = DEFAULT_DB)]
    pub db: String,
}

fn parse_scope(text: &str) -> Result<Scope, String> {
    Scope::parse(text)
}

fn impacts() -> PossibleValuesParser {
    PossibleValuesParser::new(Impact::ALL.iter().map(|i| i.as_str()))
}

fn incident_statuses() -> PossibleValuesParser {
    PossibleValuesParser::new(IncidentStatus::ALL.iter().map(|s| s.as_str()))
}

fn rfc3339(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{e}; write e.g. 2026-03-01T14:30:00Z"))
}

/// `ID=STATUS`, or `ID` alone when `default` says what that means.
fn component(text: &str, default: Option<ComponentStatus>) -> Result<(String, String), String> {
    let (id, status) = match (text.split_once('='), default) {
        (Some((id, status)), _) => (id, status),
        (None, Some(default)) => (text, default.as_str()),
        (None, None) => return Err(format!("write ID=STATUS, with STATUS one of: {}", ComponentStatus::names())),
    };
    if id.is_empty() {
        return Err("the component id is empty".into());
    }
    match ComponentStatus::parse(status) {
        Some(status) => Ok((id.to_owned(), status.as_str().to_owned())),
        None => Err(format!("`{status}` is not one of: {}", ComponentStatus::names())),
    }
}

fn component_or_default(text: &str) -> Result<(String, String), String> {
    component(text, Some(ComponentStatus::PartialOutage))
}

fn component_with_status(text: &str) -> Result<(String, String), String> {
    component(text, None)
}

/// How a command ended.
pub enum Exit {
    Ok,
    /// Exit 2: the configuration is invalid; each line is one error.
    InvalidConfig(ConfigErrors),
    /// Exit 1 with this message.
    Failed(anyhow::Error),
}

/// Reads and checks a configuration file. A missing one says how to make one.
pub fn load_config(path: &Path) -> Result<Config, Exit> {
    let source = std::fs::read_to_string(path).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::NotFound {
            "; write a starter one with `upbeat init`, or name yours with --config FILE (or UPBEAT_CONFIG)"
        } else {
            ""
        };
        Exit::Failed(anyhow::anyhow!("cannot read {}: {e}{hint}", path.display()))
    })?;
    Config::parse(&path.display().to_string(), &source).map_err(Exit::InvalidConfig)
}

/// What a valid configuration asks of this machine that it cannot do, as configuration errors:
/// ICMP monitors (not paused) where this user may not open ICMP sockets. Said now rather than at
/// 3 a.m.
fn host_problems(path: &Path, config: &Config) -> ConfigErrors {
    let icmp: Vec<usize> = config
        .monitors
        .iter()
        .enumerate()
        .filter(|(_, m)| m.kind.name() == "icmp" && !m.paused)
        .map(|(i, _)| i)
        .collect();
    let Some(Err(why)) = (!icmp.is_empty()).then(upbeat_checks::icmp_permitted) else {
        return ConfigErrors(Vec::new());
    };
    // The line of each `kind = "icmp"`, in order, for the error's position.
    let source = std::fs::read_to_string(path).unwrap_or_default();
    let mut lines = source
        .lines()
        .enumerate()
        .filter(|(_, l)| l.split('#').next().unwrap_or("").replace(' ', "") == "kind=\"icmp\"")
        .map(|(n, _)| n + 1);
    let errors = icmp
        .into_iter()
        .map(|i| upbeat_core::config::ConfigError {
            file: path.display().to_string(),
            line: lines.next().unwrap_or(1),
            column: 1,
            field: format!("monitor[{i}].kind"),
            message: why.clone(),
        })
        .collect();
    ConfigErrors(errors)
}

/// A new token: `upb_` and 256 random bits in hex.
pub fn new_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness available: {e}"))?;
    Ok(format!("upb_{}", hex::encode(bytes)))
}

pub async fn run(cli: Cli) -> Exit {
    match cli.command {
        Command::Config { command: ConfigCommand::Check { config } } => match load_config(&config.config) {
            Ok(c) if !host_problems(&config.config, &c).0.is_empty() => {
                Exit::InvalidConfig(host_problems(&config.config, &c))
            }
            Ok(c) => {
                println!(
                    "{}: ok ({} components, {} monitors)",
                    config.config.display(),
                    c.components.len(),
                    c.monitors.len()
                );
                Exit::Ok
            }
            Err(exit) => exit,
        },
        Command::Channel { command: ChannelCommand::Test { config, id } } => {
            let config = match load_config(&config.config) {
                Ok(c) => c,
                Err(exit) => return exit,
            };
            match test_channel(&config, &id).await {
                Ok(()) => Exit::Ok,
                Err(e) => Exit::Failed(e),
            }
        }
        Command::Token { command: TokenCommand::Create { name, scope, db } } => {
            let result: anyhow::Result<String> = async {
                let store = upbeat_store::open(&db.db).await?;
                let token = new_token()?;
                let hash = upbeat_web::auth::token_hash(&token);
                let new = NewToken { name: &name, scope, hash: &hash, prefix: upbeat_web::auth::token_prefix(&token) };
                store.create_token(&new, SystemClock.now()).await?;
                Ok(token)
            }
            .await;
            match result {
                Ok(token) => {
                    println!("{token}");
                    Exit::Ok
                }
                Err(e) => Exit::Failed(e),
            }
        }
        Command::Token { command: TokenCommand::List { format, db } } => {
            let result = async {
                let store = upbeat_store::open(&db.db).await?;
                let tokens = store.tokens().await?;
                if tokens.is_empty() && format == crate::admin::Format::Table {
                    eprintln!("no tokens; `upbeat token create --name NAME` makes one");
                    return Ok(());
                }
                emit(&crate::admin::render_tokens(tokens, format)?)
            }
            .await;
            match result {
                Ok(()) => Exit::Ok,
                Err(e) => Exit::Failed(e),
            }
        }
        Command::Token { command: TokenCommand::Revoke { token, id, db } } => {
            let result = async {
                let which = match (&token, id) {
                    (_, Some(id)) => upbeat_store::TokenRef::Id(id),
                    (Some(label), None) => upbeat_store::TokenRef::NameOrPrefix(label),
                    (None, None) => bail!("name the token to revoke: NAME, PREFIX or --id ID"),
                };
                let store = upbeat_store::open(&db.db).await?;
                emit(&crate::admin::revoke_token(&*store, which).await?)
            }
            .await;
            match result {
                Ok(()) => Exit::Ok,
                Err(e) => Exit::Failed(e),
            }
        }
        Command::Backup { to, db } => match crate::admin::backup(&db.db, &to).await.and_then(|done| emit(&done)) {
            Ok(()) => Exit::Ok,
            Err(e) => Exit::Failed(e),
        },
        Command::Incident { remote, command } => match incident(remote, command).await {
            Ok(()) => Exit::Ok,
            Err(e) => Exit::Failed(e),
        },
        Command::Maintenance { remote, command } => match maintenance(remote, command).await {
            Ok(()) => Exit::Ok,
            Err(e) => Exit::Failed(e),
        },
        Command::Import { db, base_url, dry_run, timeout, sources } => {
            let result = async {
                let store = upbeat_store::open(&db.db).await?;
                let options = upbeat_import::Options { base_url };
                crate::import::import(&*store, &sources, &options, dry_run, timeout, SystemClock.now()).await
            }
            .await;
            match result {
                Ok(_) => Exit::Ok,
                Err(e) => Exit::Failed(e),
            }
        }
        Command::Report { db, from, to, format } => {
            let result = async {
                let now = SystemClock.now();
                let to = to.unwrap_or(now);
                let from = from.unwrap_or(to - chrono::Duration::days(30));
                if from >= to {
                    bail!("--from ({from}) must be before --to ({to})");
                }
                let store = upbeat_store::open(&db.db).await?;
                let rows = crate::import::report_rows(&*store, upbeat_core::uptime::Span::new(from, to), now).await?;
                print!("{}", crate::import::render(&rows, format)?);
                Ok(())
            }
            .await;
            match result {
                Ok(()) => Exit::Ok,
                Err(e) => Exit::Failed(e),
            }
        }
        Command::Init { dir, title, base_url, url } => match crate::init::run(&dir, title, base_url, url) {
            Ok(()) => Exit::Ok,
            Err(e) => Exit::Failed(e),
        },
        Command::Serve { config, db, listen, demo_sinks } => {
            let config = match load_config(&config.config) {
                Ok(c) => c,
                Err(exit) => return exit,
            };
            let listen = listen.unwrap_or(config.server.listen);
            // Kept until the server stops.
            let _sinks = if demo_sinks {
                match crate::demo::DemoSinks::start(&config, listen).await {
                    Ok(sinks) => Some(sinks),
                    Err(e) => return Exit::Failed(e),
                }
            } else {
                None
            };
            let app = match Application::build(config, &db.db, listen, Arc::new(SystemClock)).await {
                Ok(app) => app,
                Err(e) => return Exit::Failed(e),
            };
            tracing::info!(addr = %app.addr(), "upbeat is serving on http://{}/", app.addr());
            match app.run_until(shutdown_signal()).await {
                Ok(()) => Exit::Ok,
                Err(e) => Exit::Failed(e),
            }
        }
    }
}

/// The API client for `--server` and `--token`, or why there is none.
fn remote_client(remote: &RemoteArgs) -> anyhow::Result<Client> {
    let token = match remote.token.as_deref().map(str::trim) {
        Some(token) if !token.is_empty() => token.to_owned(),
        _ => bail!(
            "no API token: pass --token TOKEN or set UPBEAT_TOKEN (`upbeat token create --scope write` makes one)"
        ),
    };
    Ok(Client::new(&remote.server, &token)?)
}

/// Runs one `upbeat maintenance` command against the server.
async fn maintenance(remote: RemoteArgs, command: MaintenanceCommand) -> anyhow::Result<()> {
    let client = remote_client(&remote)?;
    match command {
        MaintenanceCommand::Schedule { title, from, until, components, message } => {
            let about = format!("the announcement of the maintenance \"{title}\"");
            let message = gather_message(message, MessageKind::Required, &about)?;
            let new = serde_json::json!({
                "title": title,
                "message": message,
                "scheduled_for": from.to_rfc3339(),
                "scheduled_until": until.to_rfc3339(),
                "components": components,
            });
            let window = client.schedule_maintenance(&new).await?;
            emit(&format!("{}\n", window["id"]))
        }
        MaintenanceCommand::Complete { id } => {
            let window = client.complete_maintenance(id).await?;
            emit(&format!("{} {}\n", window["id"], window["status"].as_str().unwrap_or_default()))
        }
        MaintenanceCommand::List => {
            let listing = client.list_maintenance().await?;
            emit(&format!("{}\n", serde_json::to_string_pretty(&listing)?))
        }
    }
}

/// Runs one `upbeat incident` command against the server.
async fn incident(remote: RemoteArgs, command: IncidentCommand) -> anyhow::Result<()> {
    // Everything that can fail without asking the person anything is checked before the editor opens.
    let client = remote_client(&remote)?;
    match command {
        IncidentCommand::Open { title, impact, status, components, message, started_at, idempotency_key } => {
            let key = match idempotency_key {
                Some(key) => key,
                None => client::new_idempotency_key()?,
            };
            let about = format!("the first update of the new incident \"{title}\"");
            let message = gather_message(message, MessageKind::Required, &about)?;
            let new = NewIncident {
                title,
                message,
                status,
                impact,
                components: components.into_iter().collect::<BTreeMap<_, _>>(),
                started_at,
            };
            let incident = client.open_incident(&new, &key).await?;
            emit(&format!("{}\n", incident.id))
        }
        IncidentCommand::Update { id, status, components, message, created_at } => {
            let message = gather_message(message, MessageKind::Required, &format!("an update of incident {id}"))?;
            let update = NewUpdate { message, status, components: components.into_iter().collect(), created_at };
            let incident = client.post_update(id, &update).await?;
            emit_update_id(&incident)
        }
        IncidentCommand::Resolve { id, message } => {
            let about = format!("the last update of incident {id}, which resolves it");
            let message = gather_message(message, MessageKind::Defaulted(DEFAULT_RESOLVE_MESSAGE), &about)?;
            let incident = client.resolve(id, &message).await?;
            emit_update_id(&incident)
        }
        IncidentCommand::List { limit, format } => {
            let listing = client.list_incidents(limit).await?;
            if format == "json" {
                let mut json = listing.json;
                if !json.ends_with('\n') {
                    json.push('\n');
                }
                return emit(&json);
            }
            if listing.incidents.is_empty() {
                eprintln!("no incidents");
                return Ok(());
            }
            emit(&incident_table(&listing.incidents))
        }
    }
}

fn emit_update_id(incident: &client::Incident) -> anyhow::Result<()> {
    match incident.latest_update() {
        Some(update) => emit(&format!("{}\n", update.id)),
        None => bail!("the server's answer lists no update of incident {}", incident.id),
    }
}

/// `id, status, impact, started (UTC), title`, in aligned columns under a header.
pub fn incident_table(incidents: &[client::Incident]) -> String {
    let mut rows = vec![["ID".to_owned(), "STATUS".into(), "IMPACT".into(), "STARTED (UTC)".into(), "TITLE".into()]];
    for i in incidents {
        let started = i.started_at.format("%Y-%m-%d %H:%M").to_string();
        rows.push([i.id.to_string(), i.status.clone(), i.impact.clone(), started, i.title.clone()]);
    }
    columns(&rows)
}

/// Rows in columns padded to their widest cell, two spaces apart; the last column, free text,
/// is not padded.
pub fn columns<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        for (width, cell) in widths.iter().zip(row).take(N.saturating_sub(1)) {
            out.push_str(&format!("{cell:<width$}  "));
        }
        if let Some(last) = row.last() {
            out.push_str(last);
        }
        out.push('\n');
    }
    out
}

/// Writes to stdout; a reader that went away (`| head`) is not an error.
fn emit(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e).context("cannot write to stdout"),
        _ => Ok(()),
    }
}

/// Whether a command can do without a message.
#[derive(Clone, Copy)]
enum MessageKind {
    Required,
    /// This message when none is given and stdin is not a terminal; the editor starts with it.
    Defaulted(&'static str),
}

/// The message: `--message TEXT`, `--message -` (stdin), else stdin when it is not a terminal
/// (or the default, for `resolve`), else what the person writes in their editor.
fn gather_message(given: Option<String>, kind: MessageKind, about: &str) -> anyhow::Result<String> {
    if let Some(text) = given {
        if text != "-" {
            return Ok(text);
        }
        return read_stdin()?.context("the message read from stdin is empty");
    }
    if !std::io::stdin().is_terminal() {
        return match kind {
            MessageKind::Defaulted(text) => Ok(text.to_owned()),
            MessageKind::Required => {
                read_stdin()?.context("no message: pass --message TEXT, or pipe it in (stdin was empty)")
            }
        };
    }
    let start = match kind {
        MessageKind::Defaulted(text) => text,
        MessageKind::Required => "",
    };
    edit_message(start, about)
}

/// Stdin to its end, without trailing whitespace; `None` if that leaves nothing.
fn read_stdin() -> anyhow::Result<Option<String>> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).context("cannot read the message from stdin")?;
    let text = text.trim_end();
    Ok((!text.trim().is_empty()).then(|| text.to_owned()))
}

/// Opens `$VISUAL` or `$EDITOR` (default `vi`) on a temporary file, as git does for commits.
fn edit_message(start: &str, about: &str) -> anyhow::Result<String> {
    let mut file = tempfile::Builder::new()
        .prefix("upbeat-message-")
        .suffix(".md")
        .tempfile()
        .context("cannot create a temporary file for the message")?;
    let template = format!(
        "{start}\n\n# Write {about} in Markdown above.\n# Lines starting with '#' are ignored (indent a heading by a space to keep it);\n# an empty message aborts.\n"
    );
    file.write_all(template.as_bytes()).and_then(|()| file.flush()).context("cannot write the temporary file")?;
    let editor = ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|value| !value.trim().is_empty())
        .unwrap_or_else(|| "vi".to_owned());
    let status =
        editor_command(&editor, file.path()).status().with_context(|| format!("cannot start the editor `{editor}`"))?;
    if !status.success() {
        bail!("aborted: the editor `{editor}` exited with {status}");
    }
    let text = std::fs::read_to_string(file.path()).context("cannot read the message back")?;
    message_from_editor(&text).context("aborted: empty message")
}

/// `$EDITOR` may hold arguments (`code --wait`), so a shell runs it, with the file as `$1`.
fn editor_command(editor: &str, path: &Path) -> std::process::Command {
    #[cfg(unix)]
    {
        let mut command = std::process::Command::new("sh");
        command.arg("-c").arg(format!("{editor} \"$1\"")).arg(editor).arg(path);
        command
    }
    #[cfg(not(unix))]
    {
        let mut parts = editor.split_whitespace();
        let mut command = std::process::Command::new(parts.next().unwrap_or("notepad"));
        command.args(parts).arg(path);
        command
    }
}

/// The edited text without its comment lines and surrounding blank lines; `None` if empty.
fn message_from_editor(text: &str) -> Option<String> {
    let kept: Vec<&str> = text.lines().filter(|line| !line.starts_with('#')).collect();
    let message = kept.join("\n");
    let message = message.trim_end().trim_start_matches(['\n', '\r']);
    (!message.trim().is_empty()).then(|| message.to_owned())
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

/// `upbeat channel test ID`.
async fn test_channel(config: &Config, id: &str) -> anyhow::Result<()> {
    use crate::outbox::retry::Verdict;
    let Some(channel) = config.channel(id) else {
        let known: Vec<&str> = config.channels.iter().map(|c| c.id.as_str()).collect();
        anyhow::bail!("no channel has id `{id}`; the configuration has: {}", known.join(", "));
    };
    let now = SystemClock.now();
    let alert = upbeat_core::notify::Alert::test(&config.page, now);
    let rendered =
        upbeat_core::notify::render(channel, &alert, &|name| std::env::var(name).ok()).map_err(anyhow::Error::msg)?;
    let sender = crate::outbox::send::Sender::new(config)?;
    let key = format!("test:{}:{}", channel.id, now.timestamp_millis());
    match sender.send(rendered, &key, &SystemClock).await {
        Verdict::Delivered => {
            println!("{id}: delivered");
            Ok(())
        }
        Verdict::Transient { error, .. } => anyhow::bail!("{id}: not delivered (a retry might work): {error}"),
        Verdict::Permanent { error } => anyhow::bail!("{id}: not delivered: {error}"),
        Verdict::Cancelled { reason } => anyhow::bail!("{id}: not sent: {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_default_to_partial_outage_only_when_opening() {
        assert_eq!(component_or_default("api"), Ok(("api".into(), "partial_outage".into())));
        assert_eq!(component_or_default("api=degraded_performance"), Ok(("api".into(), "degraded_performance".into())));
        assert!(component_or_default("api=down").is_err());
        assert!(component_or_default("=major_outage").is_err());
        assert!(component_with_status("api").is_err());
        assert_eq!(component_with_status("api=operational"), Ok(("api".into(), "operational".into())));
    }

    #[test]
    fn editor_text_loses_its_comments_and_blank_edges() {
        let text = "\n\nWe are *looking*.\n\n # Kept heading\n# a comment\nMore.\n\n# Write ...\n";
        assert_eq!(message_from_editor(text).as_deref(), Some("We are *looking*.\n\n # Kept heading\nMore."));
        assert_eq!(message_from_editor("\n# only comments\n\n"), None);
    }

    #[test]
    fn the_table_aligns_its_columns() {
        let incidents: Vec<client::Incident> = serde_json::from_str(
            r#"[{"id": 12, "title": "Slow database", "status": "investigating", "impact": "major", "started_at": "2026-03-01T14:30:59Z"},
                {"id": 9, "title": "Email", "status": "resolved", "impact": "none", "started_at": "2026-02-01T00:00:00+02:00"}]"#,
        )
        .expect("incidents");
        assert_eq!(
            incident_table(&incidents),
            "ID  STATUS         IMPACT  STARTED (UTC)     TITLE\n\
             12  investigating  major   2026-03-01 14:30  Slow database\n\
             9   resolved       none    2026-01-31 22:00  Email\n"
        );
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
