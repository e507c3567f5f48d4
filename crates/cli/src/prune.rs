//! `trailsearch prune`: retention by the date in each index's name.

use crate::args::{ClusterArgs, PruneArgs};
use crate::cluster::{connect, settings};

pub async fn run(args: &ClusterArgs, prune: &PruneArgs) -> anyhow::Result<bool> {
    let settings = settings(args)?;
    let naming = settings.naming()?;
    let cluster = connect(&settings).await?;
    let cutoff = trailsearch_ingest::retention_cutoff(chrono::Utc::now(), prune.older_than)?;
    let old = trailsearch_sink::prune_indices(&cluster.transport, &naming, cutoff, prune.dry_run).await?;
    let verb = if prune.dry_run { "would delete" } else { "deleted" };
    for index in &old {
        println!("{verb} {index}");
    }
    eprintln!("{} indices {verb} (every day before {cutoff})", old.len());
    Ok(true)
}
