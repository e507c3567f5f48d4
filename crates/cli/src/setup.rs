//! `trailsearch setup`.

use crate::args::{ClusterArgs, SetupArgs};
use crate::cluster::{connect, settings};

pub async fn run(args: &ClusterArgs, setup: &SetupArgs) -> anyhow::Result<bool> {
    let settings = settings(args)?;
    let naming = settings.naming()?;
    let cluster = connect(&settings).await?;
    // Checked before anything changes.
    let kibana = match &setup.kibana_url {
        Some(url) => Some(crate::kibana::client(&settings, cluster.transport.auth(), url)?),
        None => None,
    };
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
    match &kibana {
        Some(client) => {
            crate::kibana::import(
                client,
                &naming,
                setup.kibana_flavour,
                setup.kibana_tenant.as_deref(),
            )
            .await
        }
        None => Ok(true),
    }
}
