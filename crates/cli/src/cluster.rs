//! Flags -> settings -> the connected cluster and its sink.

use anyhow::Context;
use trailsearch_ingest::{Cluster, Settings};

use crate::args::ClusterArgs;

/// Settings from the flags; warns about `--insecure`.
pub fn settings(args: &ClusterArgs) -> anyhow::Result<Settings> {
    let settings = args.settings()?;
    if settings.insecure {
        eprintln!("warning: --insecure: the cluster's TLS certificate is not verified");
    }
    Ok(settings)
}

/// Connects and detects the cluster (`GET /`).
pub async fn connect(settings: &Settings) -> anyhow::Result<Cluster> {
    settings.connect().await.with_context(|| {
        format!(
            "cannot reach the cluster at {} (--es-url)",
            trailsearch_sink::redact_url(&settings.es_url)
        )
    })
}
