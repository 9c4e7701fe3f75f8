//! The deadline watcher: turns silence into failures for heartbeat and push monitors.
//!
//! One task and one heap of (deadline, monitor), like the scheduler's. A success only moves a
//! deadline later, so the heap is not told: when the old entry comes due, [`Engine::tick`] finds
//! nothing late and answers the new deadline, which goes back in. A start can bring a deadline
//! earlier (a run must end within its grace), so the engine sends those monitors on a channel.
//!
//! Deadlines are in the engine's clock, checked at least every [`HEARTBEAT`], so a test that moves
//! an injected clock sees them pass without waiting for real time.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::engine::Engine;

const HEARTBEAT: Duration = Duration::from_millis(250);

/// Runs until `stop` turns true.
pub async fn run(engine: Arc<Engine>, mut moved: mpsc::UnboundedReceiver<usize>, mut stop: watch::Receiver<bool>) {
    let mut heap: BinaryHeap<Reverse<(i64, usize)>> = BinaryHeap::new();
    let passive: Vec<usize> = engine.timed().collect();
    if passive.is_empty() {
        return;
    }
    for index in passive {
        if let Some(next) = engine.tick(index).await {
            heap.push(Reverse((next.timestamp_millis(), index)));
        }
    }
    loop {
        if *stop.borrow() {
            return;
        }
        let now = engine.clock().now().timestamp_millis();
        while let Some(&Reverse((due, index))) = heap.peek() {
            if due > now {
                break;
            }
            heap.pop();
            if let Some(next) = engine.tick(index).await {
                heap.push(Reverse((next.timestamp_millis(), index)));
            }
        }
        let wait = heap.peek().map_or(HEARTBEAT, |Reverse((due, _))| {
            Duration::from_millis((due - now).clamp(0, HEARTBEAT.as_millis() as i64) as u64)
        });
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            Some(index) = moved.recv() => {
                if let Some(next) = engine.tick(index).await {
                    heap.push(Reverse((next.timestamp_millis(), index)));
                }
            }
            _ = stop.changed() => return,
        }
    }
}
