//! The HTTP target: one current-thread tokio runtime, one accept loop per address, one short
//! task per connection. Every request gets `200 OK`, the body `ok` and `Connection: close`.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
/// A request head larger than this is answered without reading the rest.
const HEAD_CAP: usize = 8 * 1024;
/// How long a client may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Only the first few accept errors are printed; the count is printed on every one after.
const ERRORS_SHOWN: u64 = 5;

static ACCEPT_ERRORS: AtomicU64 = AtomicU64::new(0);

#[derive(clap::Args, Debug)]
pub struct TargetArgs {
    /// Addresses to listen on, comma separated; port 0 picks a free port. Loopback (127.0.0.0/8)
    /// only. Each bound address is printed as `listening ADDR`, then `ready`.
    #[arg(long, value_delimiter = ',', required = true)]
    pub addrs: Vec<SocketAddr>,
    /// Exit after this many seconds whatever happens, so a lost target never lingers.
    #[arg(long, default_value_t = 3600)]
    pub lifetime: u64,
    /// Exit when stdin closes: the bench holds the other end, so the target dies with it.
    #[arg(long)]
    pub exit_on_stdin_eof: bool,
}

pub fn main(args: TargetArgs) -> anyhow::Result<()> {
    for addr in &args.addrs {
        if !addr.ip().is_loopback() {
            bail!("{addr} is not a loopback address; the target only listens on 127.0.0.0/8");
        }
    }
    if args.exit_on_stdin_eof {
        std::thread::spawn(|| {
            let mut byte = [0u8; 64];
            while matches!(std::io::stdin().read(&mut byte), Ok(n) if n > 0) {}
            std::process::exit(0);
        });
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        let mut listeners = Vec::new();
        let mut stdout = std::io::stdout().lock();
        for addr in &args.addrs {
            let listener = TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
            writeln!(stdout, "listening {}", listener.local_addr()?)?;
            listeners.push(listener);
        }
        writeln!(stdout, "ready")?;
        stdout.flush()?;
        drop(stdout);
        for listener in listeners {
            tokio::spawn(accept_loop(listener));
        }
        tokio::time::sleep(Duration::from_secs(args.lifetime)).await;
        eprintln!("upbeat-bench target: lifetime of {} s is over; exiting", args.lifetime);
        Ok(())
    })
}

async fn accept_loop(listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(answer(stream));
            }
            Err(e) => {
                // EMFILE and friends: say so, back off a little, keep serving.
                let n = ACCEPT_ERRORS.fetch_add(1, Relaxed) + 1;
                if n <= ERRORS_SHOWN {
                    eprintln!("upbeat-bench target: accept failed ({n} so far): {e}");
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

async fn answer(mut stream: TcpStream) {
    let _ = tokio::time::timeout(READ_TIMEOUT, async {
        let mut head = [0u8; HEAD_CAP];
        let mut filled = 0;
        // Read the whole request head, so closing never resets a connection with unread data.
        while filled < head.len() {
            match stream.read(&mut head[filled..]).await {
                Ok(0) | Err(_) => return,
                Ok(n) => filled += n,
            }
            if head[..filled].windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
        if stream.write_all(RESPONSE).await.is_ok() {
            let _ = stream.shutdown().await;
        }
    })
    .await;
}
