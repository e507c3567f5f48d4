//! `trailsearch kibana export`, and the import `setup --kibana-url` runs.

use std::io::Write;

use anyhow::Context;
use trailsearch_ingest::Settings;
use trailsearch_kibana::{saved_objects, saved_objects_ndjson, KibanaFlavour};
use trailsearch_mapping::{Granularity, IndexNaming};
use trailsearch_sink::{Auth, KibanaClient, TransportConfig};

use crate::args::{ClusterArgs, KibanaArgs, KibanaCommand};

pub fn run(cluster: &ClusterArgs, args: &KibanaArgs) -> anyhow::Result<bool> {
    match args.command {
        KibanaCommand::Export { kibana_flavour } => {
            // Only the prefix matters: nothing here talks to the cluster.
            let prefix = cluster
                .index_prefix
                .clone()
                .unwrap_or_else(|| Settings::default().index_prefix);
            let naming = IndexNaming::new(&prefix, Granularity::Day)?;
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(saved_objects_ndjson(&naming, kibana_flavour).as_bytes())
                .and_then(|()| stdout.flush())
                .context("cannot write to stdout")?;
            Ok(true)
        }
    }
}

/// The client for the Kibana or OpenSearch Dashboards at `url`, with the
/// cluster's credentials and TLS settings.
pub fn client(settings: &Settings, auth: &Auth, url: &str) -> anyhow::Result<KibanaClient> {
    let ca_cert = match &settings.ca_cert {
        Some(path) => Some(std::fs::read(path).with_context(|| format!("--ca-cert {}", path.display()))?),
        None => None,
    };
    Ok(KibanaClient::new(TransportConfig {
        url: url.to_string(),
        auth: auth.clone(),
        ca_cert,
        insecure: settings.insecure,
        timeout: settings.timeout,
        gzip_above: usize::MAX,
    })?)
}

/// Imports the saved objects for `naming`, overwriting earlier imports.
/// `Ok(false)` when objects were refused (each is printed on stderr).
pub async fn import(
    client: &KibanaClient,
    naming: &IndexNaming,
    flavour: Option<KibanaFlavour>,
) -> anyhow::Result<bool> {
    let base = client.base_url().clone();
    let (flavour, version) = match flavour {
        Some(flavour) => (flavour, None),
        None => {
            let status = client.status().await.with_context(|| {
                format!("cannot ask {base} which product it is (GET /api/status); --kibana-flavour kibana|osd skips the question")
            })?;
            let flavour = status.flavour.with_context(|| {
                format!("{base}api/status does not say whether it is Kibana or OpenSearch Dashboards: pass --kibana-flavour kibana|osd")
            })?;
            (flavour, status.version)
        }
    };
    // The objects for the product that answers: each has its own kind of map.
    let objects = saved_objects(naming, flavour);
    let ndjson = saved_objects_ndjson(naming, flavour);
    let report = client
        .import(flavour, ndjson.as_bytes())
        .await
        .with_context(|| format!("importing the saved objects into {} at {base}", flavour.product()))?;
    let version = version.map(|v| format!(" {v}")).unwrap_or_default();
    let count = |kind: &str| objects.iter().filter(|o| o["type"] == kind).count();
    let dashboards: Vec<String> = objects
        .iter()
        .filter(|o| o["type"] == "dashboard")
        .filter_map(|o| o["attributes"]["title"].as_str().map(|t| format!("{t:?}")))
        .collect();
    let maps = match count("map") {
        0 => String::new(),
        1 => ", 1 map".to_string(),
        n => format!(", {n} maps"),
    };
    println!(
        "{}{version} at {base}: {} of {} saved objects imported (index pattern {}, {} searches, {} visualizations{maps}, dashboards {})",
        flavour.product(),
        report.success_count,
        objects.len(),
        naming.pattern(),
        count("search"),
        count("visualization"),
        dashboards.join(", "),
    );
    for failure in &report.failures {
        eprintln!("error: saved object {failure}");
    }
    let complete =
        report.success && report.failures.is_empty() && report.success_count == objects.len() as u64;
    if !complete && report.failures.is_empty() {
        eprintln!(
            "error: {} answered success={} with {} of {} objects imported",
            flavour.product(),
            report.success,
            report.success_count,
            objects.len()
        );
    }
    Ok(complete)
}
