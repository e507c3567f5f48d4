//! End-to-end tests: the `trailsearch` binary against a real test cluster.

mod cli;
mod ingest;
mod mapping;
