//! The command line: `upbeat serve`, `upbeat config check`, `upbeat token create`.
//!
//! Every command returns an [`Exit`]; `main` prints and exits with its code. Configuration errors
//! exit 2 with one line per error, everything else that fails exits 1 with one clear line.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use upbeat_core::config::ConfigErrors;
use upbeat_core::{Config, Scope};

use crate::app::Application;
use crate::clock::{Clock, SystemClock};

pub const DEFAULT_DB: &str = "sqlite://upbeat.db";

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
    },
    /// Works with the configuration file.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Manages API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
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

/// How a command ended.
pub enum Exit {
    Ok,
    /// Exit 2: the configuration is invalid; each line is one error.
    InvalidConfig(ConfigErrors),
    /// Exit 1 with this message.
    Failed(anyhow::Error),
}

/// Reads and checks a configuration file.
pub fn load_config(path: &Path) -> Result<Config, Exit> {
    let source = std::fs::read_to_string(path)
        .map_err(|e| Exit::Failed(anyhow::anyhow!("cannot read {}: {e}", path.display())))?;
    Config::parse(&path.display().to_string(), &source).map_err(Exit::InvalidConfig)
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
        Command::Token { command: TokenCommand::Create { name, scope, db } } => {
            let result: anyhow::Result<String> = async {
                let store = upbeat_store::open(&db.db).await?;
                let token = new_token()?;
                store.create_token(&name, scope, &upbeat_web::auth::token_hash(&token), SystemClock.now()).await?;
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
        Command::Serve { config, db, listen } => {
            let config = match load_config(&config.config) {
                Ok(c) => c,
                Err(exit) => return exit,
            };
            let listen = listen.unwrap_or(config.server.listen);
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
