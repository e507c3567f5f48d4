//! End-to-end tests: the `trailsearch` binary against a real test cluster.

mod auth;
mod bad_input;
mod cli;
mod compose;
mod deadletter;
mod enrich;
mod faults;
mod infra;
mod ingest;
mod integrity;
mod kibana;
mod lambda_runtime;
mod mapping;
mod node_kill;
mod s3;
mod trace;
