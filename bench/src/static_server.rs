//! `upbeat-bench static`: the ceiling for the read-path benchmark. The same stack as upbeat's web
//! server (axum's `serve` on hyper, a multi-thread tokio runtime with one worker per core) with
//! nothing behind it: every GET gets `200 OK` and a fixed 20-byte `text/plain` body.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

/// The body of every answer: 20 bytes.
pub const BODY: &str = "upbeat-bench static\n";

#[derive(clap::Args, Debug)]
pub struct StaticArgs {
    /// The address to listen on; port 0 picks a free port. Loopback (127.0.0.0/8) only. The bound
    /// address is printed as `listening ADDR`, then `ready`.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Exit after this many seconds whatever happens, so a lost server never lingers.
    #[arg(long, default_value_t = 3600)]
    pub lifetime: u64,
    /// Exit when stdin closes: the bench holds the other end, so the server dies with it.
    #[arg(long)]
    pub exit_on_stdin_eof: bool,
}

pub fn main(args: StaticArgs) -> anyhow::Result<()> {
    if !args.listen.ip().is_loopback() {
        bail!("{} is not a loopback address; the static server only listens on 127.0.0.0/8", args.listen);
    }
    if args.exit_on_stdin_eof {
        std::thread::spawn(|| {
            let mut byte = [0u8; 64];
            while matches!(std::io::stdin().read(&mut byte), Ok(n) if n > 0) {}
            std::process::exit(0);
        });
    }
    // Like upbeat's `#[tokio::main]`: a multi-thread runtime, one worker per core.
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        {
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "listening {}", listener.local_addr()?)?;
            writeln!(stdout, "ready")?;
            stdout.flush()?;
        }
        let router = Router::new().fallback_service(get(answer));
        let lifetime = args.lifetime;
        tokio::select! {
            served = axum::serve(listener, router) => served.context("the static server failed")?,
            () = tokio::time::sleep(Duration::from_secs(lifetime)) => {
                eprintln!("upbeat-bench static: lifetime of {lifetime} s is over; exiting");
            }
        }
        Ok(())
    })
}

async fn answer() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain")], BODY)
}
