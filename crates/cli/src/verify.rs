//! `trailsearch verify`: CloudTrail's digests and the log objects they list.

use std::io::IsTerminal;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use trailsearch_ingest::{
    parse_s3_url, verify_prefix, Counts, EventFilter, KeyRing, ObjectStore, VerifyReport,
};

use crate::args::VerifyArgs;
use crate::display::escape_controls;
use crate::UsageError;

pub async fn run(args: &VerifyArgs) -> anyhow::Result<bool> {
    if let (Some(from), Some(to)) = (args.from, args.to) {
        if from > to {
            return Err(UsageError(format!("--from {from} is after --to {to}")).into());
        }
    }
    let (bucket, prefix) = parse_s3_url(&args.url).map_err(|e| {
        UsageError(format!(
            "{e}; only S3 can be verified: a copy elsewhere has lost the digests' signature metadata"
        ))
    })?;
    let filter = EventFilter {
        from: args.from,
        to: args.to,
        accounts: args.scope.account.clone(),
        regions: args.scope.region.clone(),
        ..EventFilter::default()
    };
    let mut keys = match &args.public_keys {
        Some(path) => KeyRing::from_path(path).map_err(|e| UsageError(format!("--public-keys {e}")))?,
        None => KeyRing::from_environment().await,
    };
    let store = ObjectStore::with_s3(ObjectStore::s3_client_from_environment().await);
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(0);
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} {bar:30} {pos}/{len} objects checked {elapsed}")
        {
            bar.set_style(style);
        }
        bar
    });
    let progress = |p: trailsearch_ingest::VerifyProgress| {
        if let Some(bar) = &bar {
            bar.set_length(p.total);
            bar.set_position(p.done);
        }
    };
    let report = verify_prefix(&store, &bucket, &prefix, &filter, &mut keys, &progress)
        .await
        .with_context(|| format!("verifying {}", args.url))?;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    match args.report.as_deref() {
        Some("json") => println!("{}", serde_json::to_string(&report)?),
        _ => print!("{}", table(&report)),
    }
    if report.total.digests == 0 {
        eprintln!(
            "verify: no digests in the window under {}: is log file validation on for the trail, and the prefix the trail's?",
            args.url
        );
    }
    Ok(report.total.is_success())
}

const HEADER: [&str; 14] = [
    "TRAIL", "ACCOUNT", "REGION", "DIGESTS", "VALID", "INVALID", "LOGS", "VERIFIED", "MODIFIED", "MISSING",
    "UNLISTED", "PENDING", "BREAKS", "GAPS",
];

fn numbers(c: &Counts) -> [u64; 11] {
    [
        c.digests,
        c.digests_valid,
        c.digests_invalid,
        c.logs,
        c.logs_verified,
        c.logs_modified,
        c.logs_missing,
        c.logs_unlisted,
        c.logs_pending,
        c.chain_breaks,
        c.gaps,
    ]
}

/// One row per trail and region, a total, every problem by its object, and
/// the closing equations.
fn table(report: &VerifyReport) -> String {
    let mut rows: Vec<Vec<String>> = vec![HEADER.iter().map(|h| h.to_string()).collect()];
    for chain in &report.chains {
        let account = match &chain.organization {
            Some(org) => format!("{org}/{}", chain.account),
            None => chain.account.clone(),
        };
        let trail = chain.trail.clone().unwrap_or_else(|| "(no digest)".into());
        let mut row = vec![trail, account, chain.region.clone()];
        row.extend(numbers(&chain.counts).iter().map(u64::to_string));
        rows.push(row);
    }
    let mut total = vec!["total".to_string(), String::new(), String::new()];
    total.extend(numbers(&report.total).iter().map(u64::to_string));
    rows.push(total);
    let widths: Vec<usize> = (0..HEADER.len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, width))| match i < 3 {
                true => format!("{cell:<width$}"),
                false => format!("{cell:>width$}"),
            })
            .collect();
        out.push_str(escape_controls(cells.join("  ").trim_end()).as_ref());
        out.push('\n');
    }
    if !report.problems.is_empty() {
        out.push_str("\nproblems:\n");
        for problem in &report.problems {
            out.push_str(&format!(
                "  {:<14} {}\n    {}\n",
                problem.kind,
                escape_controls(&problem.object),
                escape_controls(&problem.detail)
            ));
        }
    }
    let t = &report.total;
    out.push_str(&format!(
        "\n{} digests = {} valid + {} invalid; {} log objects = {} verified + {} modified + {} missing + {} unlisted + {} pending; {} chain breaks, {} gaps\n",
        t.digests, t.digests_valid, t.digests_invalid, t.logs, t.logs_verified, t.logs_modified, t.logs_missing,
        t.logs_unlisted, t.logs_pending, t.chain_breaks, t.gaps
    ));
    out
}
