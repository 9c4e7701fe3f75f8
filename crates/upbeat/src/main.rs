//! `upbeat`: parses the command line and runs it. Everything else is in the library.

use clap::Parser;
use upbeat::cli::{self, Cli, Exit};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match cli::run(Cli::parse()).await {
        Exit::Ok => std::process::ExitCode::SUCCESS,
        Exit::InvalidConfig(errors) => {
            for e in &errors.0 {
                eprintln!("{e}");
            }
            std::process::ExitCode::from(2)
        }
        Exit::Failed(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
