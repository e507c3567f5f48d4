//! `trailsearch ingest`.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{bail, Context};
use trailsearch_ingest::{parse_s3_url, plan_local, DryRun, EventFilter, IngestConfig, ObjectStore, Report};
use trailsearch_mapping::{Flavour, Shaper};

use crate::args::{ClusterArgs, IngestArgs};
use crate::cluster::{connect, settings};
use crate::progress::ConsoleProgress;

pub async fn run(args: &ClusterArgs, ingest: &IngestArgs) -> anyhow::Result<bool> {
    let mut settings = settings(args)?;
    if let Some(bytes) = ingest.bulk_bytes {
        settings.bulk.max_bytes = bytes;
    }
    if let Some(docs) = ingest.bulk_docs {
        settings.bulk.max_docs = docs;
    }
    if let Some(concurrency) = ingest.concurrency {
        settings.concurrency = concurrency;
    }
    settings.validate()?;
    let naming = settings.naming()?;
    if let (Some(from), Some(to)) = (ingest.from, ingest.to) {
        if from > to {
            bail!("--from {from} is after --to {to}");
        }
    }
    let filter = EventFilter {
        from: ingest.from,
        to: ingest.to,
        accounts: ingest.account.clone(),
        regions: ingest.region.clone(),

        ..settings.event_filter()
    };
    let (s3_urls, local): (Vec<&String>, Vec<&String>) =
        ingest.paths.iter().partition(|p| p.starts_with("s3://"));
    let local: Vec<PathBuf> = local.into_iter().map(PathBuf::from).collect();
    let mut plan = plan_local(&local, &filter).context("cannot list the objects to ingest")?;
    let store = if s3_urls.is_empty() {
        ObjectStore::local()
    } else {
        ObjectStore::with_s3(ObjectStore::s3_client_from_environment().await)
    };
    for url in s3_urls {
        let (bucket, prefix) = parse_s3_url(url)?;
        store.plan_s3_prefix(&bucket, &prefix, &filter, &mut plan).await?;
    }
    for skipped in &plan.skipped {
        tracing::info!(object = %skipped.name(), "skipped: not a CloudTrail log object");
    }
    let mut config = IngestConfig {
        concurrency: settings.concurrency,
        limits: settings.bulk,
        filter,
        start_deadline: None,
    };
    let progress = ConsoleProgress::new(std::io::stderr().is_terminal());

    let report = if ingest.dry_run {
        // One object at a time: the output is the same bytes on every run.
        config.concurrency = 1;
        let shaper = Shaper::new(naming, settings.flavour.unwrap_or(Flavour::OpenSearch));
        let out = DryRun::new(std::io::BufWriter::with_capacity(1 << 20, std::io::stdout()));
        let report = trailsearch_ingest::run(plan, &shaper, &out, &store, &config, &progress)
            .await
            .report;
        use std::io::Write;
        out.into_inner().flush().context("cannot write to stdout")?;
        report
    } else {
        let cluster = connect(&settings).await?;
        require_template(&cluster, &naming).await?;
        let sink = cluster.sink(&settings, naming.clone());
        let shaper = cluster.shaper(naming);
        trailsearch_ingest::run(plan, &shaper, &sink, &store, &config, &progress)
            .await
            .report
    };
    progress.finish();
    print_report(&report, ingest);
    debug_assert!(report.is_balanced(), "unbalanced report: {report}");
    Ok(report.is_success())
}

async fn require_template(
    cluster: &trailsearch_ingest::Cluster,
    naming: &trailsearch_mapping::IndexNaming,
) -> anyhow::Result<()> {
    if !trailsearch_sink::template_installed(&cluster.transport, &cluster.info, naming).await? {
        bail!(
            "the index template {} is not installed on {}: run `trailsearch setup` first \
             (with the same --index-prefix)",
            naming.template_name(),
            cluster.transport.base_url()
        );
    }
    Ok(())
}

fn print_report(report: &Report, ingest: &IngestArgs) {
    let json = ingest.report.as_deref() == Some("json");
    match (json, ingest.dry_run) {
        (true, false) => println!("{}", report.to_json()),
        (true, true) => eprintln!("{}", report.to_json()),
        (false, _) => eprintln!("{report}"),
    }
}
