//! `trailsearch ingest`.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{bail, Context};
use trailsearch_ingest::{
    parse_s3_url, plan_local, DryRun, EventFilter, IngestConfig, KeyRing, ListingStats, ObjectStore,
    Progress, Report, ResumeState,
};
use trailsearch_mapping::{Flavour, Shaper};

use crate::args::{ClusterArgs, IngestArgs};
use crate::cluster::settings;
use crate::display::escape_controls;
use crate::progress::ConsoleProgress;
use crate::UsageError;

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
            return Err(UsageError(format!("--from {from} is after --to {to}")).into());
        }
    }
    let filter = EventFilter {
        from: ingest.from,
        to: ingest.to,
        accounts: ingest.scope.account.clone(),
        regions: ingest.scope.region.clone(),

        ..settings.event_filter()
    };
    let (s3_urls, local): (Vec<&String>, Vec<&String>) =
        ingest.paths.iter().partition(|p| p.starts_with("s3://"));
    let local: Vec<PathBuf> = local.into_iter().map(PathBuf::from).collect();
    // Only a path given that cannot be read fails the walk: a usage error.
    let mut plan = plan_local(&local, &filter, ingest.follow_symlinks)
        .map_err(|e| UsageError(format!("cannot list the objects to ingest: {e}")))?;
    let store = if s3_urls.is_empty() {
        ObjectStore::local()
    } else {
        ObjectStore::with_s3(ObjectStore::s3_client_from_environment().await)
    };
    // S3 digests are validated and vouch for their objects (a dry run has
    // nowhere to record verdicts, and local copies lost their signatures).
    plan.digests = !s3_urls.is_empty() && !ingest.dry_run && !ingest.skip_digests;
    let keys = match (&ingest.public_keys, plan.digests) {
        (_, false) => None,
        (Some(path), true) => {
            Some(KeyRing::from_path(path).map_err(|e| UsageError(format!("--public-keys {e}")))?)
        }
        (None, true) => Some(KeyRing::from_environment().await),
    };
    let mut listing = ListingStats::default();
    let mut etags = HashMap::new();
    for url in &s3_urls {
        let (bucket, prefix) = parse_s3_url(url)?;
        let listed = store.plan_s3_prefix(&bucket, &prefix, &filter, &mut plan).await?;
        listing.add(&listed.stats);
        etags.extend(listed.etags);
    }
    if !s3_urls.is_empty() {
        // On stderr, never in the report: `--report json` keeps its keys.
        eprintln!("{listing}");
    }
    if ingest.verbose {
        for (object, reason) in &plan.skipped {
            eprintln!("skipped: {}: {reason}", escape_controls(&object.name()));
        }
    }
    for (reason, count) in plan.skipped_by_reason() {
        eprintln!("skipped {count} objects: {reason}");
    }
    let resume = if ingest.resume || ingest.resume_file.is_some() {
        let path = match &ingest.resume_file {
            Some(path) => path.clone(),
            None => ResumeState::default_path(&settings.es_url, &settings.index_prefix).context(
                "--resume keeps its state under $XDG_STATE_HOME or $HOME, and neither is set: \
                 use --resume-file PATH",
            )?,
        };
        let state = ResumeState::open_filtered(path, filter.resume_key())
            .context("cannot open the --resume state")?;
        let skipped = state.skip_completed(&mut plan, &etags);
        eprintln!(
            "resumed: skipping {skipped} objects completed before (state: {})",
            state.path().display()
        );
        Some(state)
    } else {
        None
    };
    let mut config = IngestConfig {
        concurrency: settings.concurrency,
        limits: settings.bulk,
        filter,
        start_deadline: None,
        keys: keys.map(|keys| std::sync::Arc::new(tokio::sync::Mutex::new(keys))),
    };
    let console = ConsoleProgress::new(std::io::stderr().is_terminal());
    // A dry run sends nothing, so it completes nothing: it only skips.
    let recorder = match &resume {
        Some(state) if !ingest.dry_run => Some(state.recorder(&plan, &etags, &console)),
        _ => None,
    };
    let progress: &dyn Progress = match &recorder {
        Some(recorder) => recorder,
        None => &console,
    };

    let report = if ingest.dry_run {
        // One object at a time: the output is the same bytes on every run.
        config.concurrency = 1;
        let shaper = Shaper::new(naming, settings.flavour.unwrap_or(Flavour::OpenSearch));
        let shaper = match crate::cluster::locator(&settings).await? {
            Some(locator) => shaper.with_locator(locator),
            None => shaper,
        };
        let out = DryRun::new(std::io::BufWriter::with_capacity(1 << 20, std::io::stdout()));
        let report = trailsearch_ingest::run(plan, &shaper, &out, &store, &config, progress)
            .await
            .report;
        use std::io::Write;
        out.into_inner().flush().context("cannot write to stdout")?;
        report
    } else {
        let cluster = crate::cluster::connect_enriching(&settings).await?;
        require_template(&cluster, &naming).await?;
        let sink = cluster.sink(&settings, naming.clone());
        let shaper = cluster.shaper(naming.clone());
        let report = trailsearch_ingest::run(plan, &shaper, &sink, &store, &config, progress)
            .await
            .report;
        // A `search` right after `ingest` finds what it wrote, rather than
        // only after the cluster's next refresh.
        if report.indexed + report.degraded + report.dead_lettered > 0 {
            let written = format!("{},{}", naming.pattern(), naming.deadletter_index());
            if let Err(error) = sink.refresh(&written).await {
                eprintln!(
                    "warning: cannot refresh {written}, so what was indexed shows in searches only after \
                     the cluster's refresh interval: {error}"
                );
            }
        }
        report
    };
    console.finish();
    if let Some(error) = resume.as_ref().and_then(ResumeState::write_error) {
        eprintln!("warning: cannot record completed objects in {error}; a resumed run reads them again");
    }
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
