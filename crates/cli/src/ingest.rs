//! `trailsearch ingest`.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{bail, Context};
use trailsearch_ingest::{plan_local, DryRun, EventFilter, IngestConfig, Report};
use trailsearch_mapping::{Flavour, Shaper};
use trailsearch_sink::BatchLimits;

use crate::args::{ClusterArgs, IngestArgs};
use crate::cluster::{connect, flavour_flag, naming, sink};
use crate::progress::ConsoleProgress;

pub async fn run(args: &ClusterArgs, ingest: &IngestArgs) -> anyhow::Result<bool> {
    let naming = naming(args)?;
    if let Some(s3) = ingest.paths.iter().find(|p| p.starts_with("s3://")) {
        bail!(
            "{s3}: reading from S3 is not available in this version; copy the objects first \
             (aws s3 cp --recursive {s3} ./logs) and ingest the directory"
        );
    }
    if let (Some(from), Some(to)) = (ingest.from, ingest.to) {
        if from > to {
            bail!("--from {from} is after --to {to}");
        }
    }
    if ingest.bulk_docs == 0 || ingest.bulk_bytes == 0 || ingest.concurrency == 0 {
        bail!("--bulk-docs, --bulk-bytes and --concurrency must be at least 1");
    }
    let filter = EventFilter {
        from: ingest.from,
        to: ingest.to,
        accounts: ingest.account.clone(),
        regions: ingest.region.clone(),
    };
    let paths: Vec<PathBuf> = ingest.paths.iter().map(PathBuf::from).collect();
    let plan = plan_local(&paths, &filter).context("cannot list the objects to ingest")?;
    for skipped in &plan.skipped {
        tracing::info!(object = %skipped.name(), "skipped: not a CloudTrail log object");
    }
    let mut config = IngestConfig {
        concurrency: ingest.concurrency,
        limits: BatchLimits {
            max_bytes: ingest.bulk_bytes,
            max_docs: ingest.bulk_docs,
        },
        filter,
    };
    let progress = ConsoleProgress::new(std::io::stderr().is_terminal());

    let report = if ingest.dry_run {
        // One object at a time: the output is the same bytes on every run.
        config.concurrency = 1;
        let shaper = Shaper::new(naming, flavour_flag(args).unwrap_or(Flavour::OpenSearch));
        let out = DryRun::new(std::io::BufWriter::with_capacity(1 << 20, std::io::stdout()));
        let report = trailsearch_ingest::run(plan, &shaper, &out, &config, &progress).await;
        use std::io::Write;
        out.into_inner().flush().context("cannot write to stdout")?;
        report
    } else {
        let cluster = connect(args).await?;
        require_template(&cluster, &naming).await?;
        let sink = sink(args, &cluster, naming.clone());
        let shaper = Shaper::new(naming, cluster.flavour);
        trailsearch_ingest::run(plan, &shaper, &sink, &config, &progress).await
    };
    progress.finish();
    print_report(&report, ingest);
    debug_assert!(report.is_balanced(), "unbalanced report: {report}");
    Ok(report.is_success())
}

async fn require_template(
    cluster: &crate::cluster::Cluster,
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
