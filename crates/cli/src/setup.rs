//! `trailsearch setup`.

use crate::args::ClusterArgs;
use crate::cluster::{connect, settings};

pub async fn run(args: &ClusterArgs) -> anyhow::Result<bool> {
    let settings = settings(args)?;
    let naming = settings.naming()?;
    let cluster = connect(&settings).await?;
    let changes = trailsearch_sink::install_templates(
        &cluster.transport,
        &cluster.info,
        cluster.flavour,
        &naming,
        settings.replicas,
    )
    .await?;
    println!(
        "cluster: {} at {} (flavour {})",
        cluster.info.describe(),
        cluster.transport.base_url(),
        cluster.flavour
    );
    for change in changes {
        let what = match change.previous_version {
            None => "installed".to_string(),
            Some(v) if v == u64::from(change.version) => "up to date".to_string(),
            Some(v) => format!("updated from version {v}"),
        };
        println!("template {}: version {} {what}", change.name, change.version);
    }
    println!(
        "events go to {}, dead letters to {}",
        naming.pattern(),
        naming.deadletter_index()
    );
    Ok(true)
}
