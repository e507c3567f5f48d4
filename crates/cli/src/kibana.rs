//! `trailsearch kibana export`, and the import `setup --kibana-url` runs.

use std::io::Write;

use anyhow::Context;
use trailsearch_ingest::Settings;
use trailsearch_kibana::{choose, ndjson, saved_objects_for, saved_objects_ndjson, KibanaFlavour};
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

/// Imports the saved objects for `naming`, overwriting earlier imports:
/// those the product's version takes (`GET /api/status` tells both).
/// `Ok(false)` when objects were refused (each is printed on stderr).
pub async fn import(
    client: &KibanaClient,
    naming: &IndexNaming,
    flavour: Option<KibanaFlavour>,
    tenant: Option<&str>,
) -> anyhow::Result<bool> {
    let base = client.base_url().clone();
    let client = client.clone().with_tenant(tenant.map(str::to_string));
    let status = client.status().await;
    let (flavour, version) = match (flavour, status) {
        // The version is the forced product's only if the answer is that product's.
        (Some(flavour), Ok(status)) => match status.flavour {
            Some(said) if said != flavour => {
                eprintln!(
                    "warning: {base}api/status says it is {}; going by --kibana-flavour {flavour}",
                    said.product()
                );
                (flavour, None)
            }
            _ => (flavour, status.version),
        },
        // Told the product, a status it cannot read costs only the version.
        (Some(flavour), Err(e)) => {
            eprintln!(
                "warning: cannot read {} version from {base}api/status ({e}): importing every object",
                flavour.product()
            );
            (flavour, None)
        }
        (None, status) => {
            let status = status.with_context(|| {
                format!("cannot ask {base} which product it is (GET /api/status); --kibana-flavour kibana|osd skips the question")
            })?;
            let flavour = status.flavour.with_context(|| {
                format!("{base}api/status does not say whether it is Kibana or OpenSearch Dashboards: pass --kibana-flavour kibana|osd")
            })?;
            (flavour, status.version)
        }
    };
    if tenant.is_some() && flavour == KibanaFlavour::Kibana {
        return Err(crate::UsageError(
            "--kibana-tenant is for OpenSearch Dashboards' security plugin; Kibana has spaces: put /s/SPACE in --kibana-url".into(),
        )
        .into());
    }
    let choice = choose(flavour, version.as_deref()).map_err(|e| anyhow::anyhow!("{base}: {e}"))?;
    if let Some(warning) = &choice.warning {
        eprintln!("warning: {warning}");
    }
    // The objects for the product that answers: each has its own kind of map.
    let objects = saved_objects_for(naming, flavour, choice.with_map);
    let report = client
        .import(flavour, ndjson(&objects).as_bytes())
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
    let tenant = tenant.map(|t| format!(" (tenant {t})")).unwrap_or_default();
    println!(
        "{}{version} at {base}{tenant}: {} of {} saved objects imported (index pattern {}, {} searches, {} visualizations{maps}, dashboards {})",
        flavour.product(),
        report.success_count,
        objects.len(),
        naming.pattern(),
        count("search"),
        count("visualization"),
        dashboards.join(", "),
    );
    if !report.new_ids.is_empty() {
        println!(
            "{} gave {} objects new IDs, as it does in a space other than the default when the IDs are taken in another space (each keeps ours as originId, and importing again here overwrites them):",
            flavour.product(),
            report.new_ids.len()
        );
        for moved in &report.new_ids {
            println!("  {} {} -> {}", moved.kind, moved.id, moved.destination);
        }
    }
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
