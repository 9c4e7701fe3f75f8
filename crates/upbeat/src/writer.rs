//! The writer: one task that commits everything the engine produces, many records per
//! transaction (group commit).
//!
//! Records arrive on a bounded channel. The writer takes whatever is waiting, up to
//! [`MAX_BATCH`], and commits it at once, so under load the batches grow and the number of
//! transactions stays flat. When the store fails, the batch is retried with backoff and the
//! channel fills, which makes probes wait and `/health` report it, rather than losing samples.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use upbeat_store::{Batch, Store};

use crate::engine::Record;
use crate::telemetry::Telemetry;

pub const MAX_BATCH: usize = 5_000;
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
    loop {
        let received = tokio::select! {
            n = records.recv_many(&mut buffer, MAX_BATCH) => n,
            _ = stop.changed(), if !*stop.borrow() => {
                // No new records are accepted; what is queued is still written below.
                records.close();
                continue;
            }
        };
        if received == 0 {
            return;
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
