//! `upbeat-bench`: runs N HTTP monitors in the release `upbeat` binary against a loopback target
//! and reports checks/s, scheduler lateness, CPU and peak RSS. See `bench/README.md`.
//!
//! `upbeat-bench run` is the benchmark; `upbeat-bench target` is the HTTP target it starts as a
//! child process, so the target's CPU is not counted against upbeat.

mod child;
mod http;
mod import;
mod outbox;
mod pings;
mod procfs;
mod run;
mod static_server;
mod target;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "upbeat-bench", about = "Benchmark: N HTTP monitors in upbeat against a loopback target.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Runs upbeat once per N and prints one markdown table row per run.
    Run(run::RunArgs),
    /// Times `upbeat import` of the reference feed and of a generated feed; peak memory too.
    Import(import::ImportArgs),
    /// One incident update to N subscribers: fan-out time, delivery rate, CPU and peak memory.
    Outbox(outbox::OutboxArgs),
    /// Heartbeat pings per second and their latency, for 1 and for many distinct checks.
    Pings(pings::PingArgs),
    /// The target: answers every request `200 OK`, a 2-byte body and `Connection: close`.
    Target(target::TargetArgs),
    /// Requests/s and latency of `/`, `/feed.rss` and `/api/v2/summary.json` under wrk, vs a static server.
    Http(http::HttpArgs),
    /// The read-path ceiling: axum answering every GET with a fixed 20-byte text/plain body.
    Static(static_server::StaticArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Run(args) => run::main(args),
        Command::Import(args) => import::main(args),
        Command::Pings(args) => pings::main(args),
        Command::Outbox(args) => outbox::main(args),
        Command::Target(args) => target::main(args),
        Command::Http(args) => http::main(args),
        Command::Static(args) => static_server::main(args),
    }
}
