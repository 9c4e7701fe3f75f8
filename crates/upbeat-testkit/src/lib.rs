//! Real servers on loopback for upbeat's tests and benchmarks. Nothing here is a mock of
//! upbeat's own parts: these are the far ends upbeat talks to.

pub mod smtp;
