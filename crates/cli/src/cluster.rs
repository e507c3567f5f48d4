//! Flags -> settings -> the connected cluster and its sink.

use std::sync::Arc;

use anyhow::Context;
use trailsearch_ingest::{load_locator, Cluster, ObjectStore, Settings};
use trailsearch_mapping::Locate;

use crate::args::ClusterArgs;

/// Settings from the flags; warns about `--insecure`.
pub fn settings(args: &ClusterArgs) -> anyhow::Result<Settings> {
    let settings = args.settings()?;
    if settings.insecure {
        eprintln!("warning: --insecure: the cluster's TLS certificate is not verified");
    }
    Ok(settings)
}

/// The GeoIP/ASN lookup `--geoip-city-db` / `--geoip-asn-db` name, if any.
pub async fn locator(settings: &Settings) -> anyhow::Result<Option<Arc<dyn Locate>>> {
    let (city, asn) = (
        settings.geoip_city_db.as_deref(),
        settings.geoip_asn_db.as_deref(),
    );
    let from_s3 = [city, asn].iter().flatten().any(|l| l.starts_with("s3://"));
    let store = if from_s3 {
        ObjectStore::with_s3(ObjectStore::s3_client_from_environment().await)
    } else {
        ObjectStore::local()
    };
    load_locator(city, asn, &store)
        .await
        .context("cannot use the GeoIP databases (--geoip-city-db / --geoip-asn-db)")
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

/// Connects, with the GeoIP/ASN lookup for enriching documents.
pub async fn connect_enriching(settings: &Settings) -> anyhow::Result<Cluster> {
    let locator = locator(settings).await?;
    Ok(connect(settings).await?.with_locator(locator))
}
