//! The writer: one task that commits everything the engine produces, many records per
//! transaction (group commit).
//!
//! Records arrive on a bounded channel. The writer takes what is waiting, gathers the samples that
//! arrive in the next [`LINGER`], up to [`MAX_BATCH`], and commits them at once, so the number of
//! transactions stays flat however many monitors there are. A transition or an acknowledged write
//! in the batch commits it at once. When the store fails, the batch is retried with backoff and the
//! channel fills, which makes probes wait and `/health` report it, rather than losing samples.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use upbeat_store::{Batch, Store};

use crate::engine::Record;
use crate::telemetry::Telemetry;

pub const MAX_BATCH: usize = 5_000;
/// How long a batch of samples waits for more before it commits.
pub const LINGER: Duration = Duration::from_millis(50);
pub const QUEUE_CAPACITY: usize = 100_000;

/// Commits records until `stop` turns true, then drains the queue and returns.
///
/// `changes` is bumped after each commit that changed what the public sees.
pub async fn run(
    mut records: mpsc::Receiver<Record>,
    store: Arc<dyn Store>,
    telemetry: Arc<Telemetry>,
    changes: watch::Sender<u64>,
    mut stop: watch::Receiver<bool>,
) {
    let mut buffer = Vec::with_capacity(MAX_BATCH);
    let mut closing = false;
    loop {
        let received = tokio::select! {
            n = records.recv_many(&mut buffer, MAX_BATCH) => n,
            // `wait_for` also sees a stop that came while a commit was running.
            _ = stop.wait_for(|stopped| *stopped), if !closing => {
                // No new records are accepted; what is queued is still written below.
                records.close();
                closing = true;
                continue;
            }
        };
        if received == 0 {
            return;
        }
        // Group commit: let the samples of the next few milliseconds join this transaction.
        // Checks arrive evenly spread, so without this the writer would wake for nearly every
        // sample; with it, 1,000 checks/s become about 20 commits/s.
        // Transitions and acknowledged writes do not wait: people are watching for them.
        let linger_until = tokio::time::Instant::now() + LINGER;
        while !closing && buffer.len() < MAX_BATCH && !buffer.iter().any(Record::is_urgent) {
            let room = MAX_BATCH - buffer.len();
            match tokio::time::timeout_at(linger_until, records.recv_many(&mut buffer, room)).await {
                Ok(n) if n > 0 => {}
                _ => break,
            }
        }
        let mut batch = Batch::default();
        let mut acks = Vec::new();
        // Only the newest state of each monitor needs writing.
        let mut newest_state = HashMap::new();
        for record in buffer.drain(..) {
            batch.samples.extend(record.sample);
            if let Some((id, state)) = record.state {
                match newest_state.get(&id) {
                    Some(&i) => batch.states[i] = (id, state),
                    None => {
                        newest_state.insert(id.clone(), batch.states.len());
                        batch.states.push((id, state));
                    }
                }
            }
            batch.transitions.extend(record.transition);
            batch.pings.extend(record.ping);
            batch.points.extend(record.points);
            batch.created.extend(record.created);
            acks.extend(record.committed);
        }
        commit(&*store, &telemetry, &batch).await;
        if !batch.states.is_empty() || !batch.transitions.is_empty() {
            changes.send_modify(|generation| *generation += 1);
        }
        for ack in acks {
            let _ = ack.send(());
        }
    }
}

async fn commit(store: &dyn Store, telemetry: &Telemetry, batch: &Batch) {
    let mut backoff = Duration::from_millis(50);
    loop {
        match store.write_batch(batch).await {
            Ok(()) => {
                telemetry.batch_size.observe(batch.len() as f64);
                return;
            }
            Err(e) => {
                telemetry.write_error();
                tracing::error!(error = %e, records = batch.len(), retry_in = ?backoff, "could not commit; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use upbeat_core::sample::ProbeOutcome;
    use upbeat_core::{MonitorId, Phases, Sample};
    use upbeat_store::MonitorRecord;

    /// A stop that arrives while the writer is busy (here: before it even starts) must still end
    /// it, with everything queued written, although senders are still alive.
    #[tokio::test]
    async fn a_stop_that_came_during_a_commit_still_drains_and_ends() {
        let dir = tempfile::tempdir().unwrap();
        let store = upbeat_store::open(&format!("sqlite://{}", dir.path().join("w.db").display())).await.unwrap();
        let id = MonitorId::parse("web").unwrap();
        let record = MonitorRecord {
            id: id.clone(),
            name: "web".into(),
            kind: "tcp".into(),
            target: "127.0.0.1:9".into(),
            component: None,
            public: true,
            interval: Duration::from_secs(60),
            ping_uuid: None,
        };
        store.sync_monitors(&[record], chrono::Utc::now()).await.unwrap();
        let (tx, rx) = mpsc::channel(16);
        for i in 0..3 {
            let sample = Sample {
                monitor: id.clone(),
                at: chrono::Utc::now() + chrono::Duration::seconds(i),
                outcome: ProbeOutcome {
                    latency: Duration::from_millis(1),
                    phases: Phases::default(),
                    http_status: None,
                    error: None,
                },
            };
            tx.send(Record { sample: Some(sample), ..Record::default() }).await.unwrap();
        }
        let (stop, stop_rx) = watch::channel(true);
        let (changes, _) = watch::channel(0);
        let writer = run(rx, Arc::clone(&store), Arc::new(Telemetry::default()), changes, stop_rx);
        tokio::time::timeout(Duration::from_secs(10), writer).await.expect("the writer ends although `tx` is alive");
        assert_eq!(store.recent_samples(&id, 10).await.unwrap().len(), 3);
        drop((tx, stop));
    }
}
