//! End-to-end tests: the `trailsearch` binary against a real test cluster.

mod auth;
mod cli;
mod infra;
mod ingest;
mod lambda_runtime;
mod mapping;
mod s3;
