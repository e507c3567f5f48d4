//! `trailsearch-bench-gen OUT.json.gz TARGET_MB [--seed N] [--day YYYY-MM-DD] [--variety typical|real]`: writes one
//! realistic CloudTrail log object of about TARGET_MB MiB compressed and
//! prints `{"records","json_bytes","compressed_bytes","avg_record_bytes","compression_ratio"}`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Parser;
use trailsearch_bench::variety::Variety;

/// Writes a deterministic, realistic CloudTrail log object (gzip JSON).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The object to write (`{"Records":[...]}`, gzip).
    out: PathBuf,
    /// Stop once the compressed object reaches this many MiB.
    target_mb: f64,
    /// Same seed, same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// typical (a busy account's mix) or real (as varied as an organisation's trail: long-tail services, very large records, odd shapes).
    #[arg(long, default_value = "typical", value_parser = parse_variety)]
    variety: Variety,
    /// The UTC day every eventTime falls on.
    #[arg(long, default_value = trailsearch_bench::gen::DAY, value_parser = parse_day)]
    day: String,
}

fn parse_variety(text: &str) -> Result<Variety, String> {
    match text {
        "typical" => Ok(Variety::Typical),
        "real" => Ok(Variety::Real),
        _ => Err(format!("{text:?} is not typical or real")),
    }
}

fn parse_day(text: &str) -> Result<String, String> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|day| day.format("%Y-%m-%d").to_string())
        .map_err(|e| format!("{text:?} is not a day YYYY-MM-DD: {e}"))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !(args.target_mb.is_finite() && args.target_mb > 0.0) {
        bail!("TARGET_MB must be a positive number, not {}", args.target_mb);
    }
    let target = (args.target_mb * 1024.0 * 1024.0) as u64;
    let file = File::create(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let summary = trailsearch_bench::gen::write_object(&mut out, args.seed, target, &args.day, args.variety)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    out.flush()
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!("{}", summary.to_json());
    Ok(())
}
