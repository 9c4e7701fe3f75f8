//! Alerts for the team through one durable outbox: events become deliveries (one per event and
//! recipient, in one transaction with the reader's cursor), and workers claim, send, retry and
//! give up on them. See `ARCHITECTURE.md`.

pub mod retry;
