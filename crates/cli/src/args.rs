//! Flags, exactly as the command-line contract names them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Search AWS CloudTrail logs in Elasticsearch or OpenSearch.
#[derive(Debug, Parser)]
#[command(name = "trailsearch", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Install the index templates for the detected cluster flavour (idempotent).
    Setup,
    /// Ingest CloudTrail log objects: files, directories (recursive).
    Ingest(IngestArgs),
    /// Search indexed events, newest first.
    Search(SearchArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FlavourArg {
    Elasticsearch,
    Opensearch,
    Compatible,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GranularityArg {
    Day,
    Month,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SigV4Arg {
    Es,
    Aoss,
}

#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// Cluster URL.
    #[arg(
        long,
        global = true,
        env = "TRAILSEARCH_ES_URL",
        default_value = "http://localhost:9200"
    )]
    pub es_url: String,
    /// Index names are <prefix>-YYYY.MM.DD; dead letters go to <prefix>_deadletter.
    #[arg(
        long,
        global = true,
        env = "TRAILSEARCH_INDEX_PREFIX",
        default_value = "cloudtrail"
    )]
    pub index_prefix: String,
    /// One index per day or per month.
    #[arg(
        long,
        global = true,
        env = "TRAILSEARCH_GRANULARITY",
        value_enum,
        default_value = "day"
    )]
    pub granularity: GranularityArg,
    /// Basic-auth user.
    #[arg(long, global = true, env = "TRAILSEARCH_ES_USER")]
    pub es_user: Option<String>,
    /// Basic-auth password.
    #[arg(long, global = true, env = "TRAILSEARCH_ES_PASSWORD", hide_env_values = true)]
    pub es_password: Option<String>,
    /// Elasticsearch API key (base64 id:key).
    #[arg(long, global = true, env = "TRAILSEARCH_ES_API_KEY", hide_env_values = true)]
    pub es_api_key: Option<String>,
    /// Sign requests with AWS SigV4 for Amazon OpenSearch Service (es) or Serverless (aoss); region from AWS_REGION.
    #[arg(long, global = true, env = "TRAILSEARCH_AWS_SIGV4", value_enum)]
    pub aws_sigv4: Option<SigV4Arg>,
    /// Trust this CA certificate (PEM) too.
    #[arg(long, global = true, env = "TRAILSEARCH_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
    /// Do not verify the cluster's TLS certificate (unsafe).
    #[arg(long, global = true, env = "TRAILSEARCH_INSECURE")]
    pub insecure: bool,
    /// Replicas of each index.
    #[arg(long, global = true, env = "TRAILSEARCH_REPLICAS", default_value_t = 1)]
    pub replicas: u32,
    /// Mapping flavour; detected from the cluster when not given (dry runs default to opensearch).
    #[arg(long, global = true, env = "TRAILSEARCH_FLAVOUR", value_enum)]
    pub flavour: Option<FlavourArg>,
    /// Request timeout (e.g. 30s, 2m).
    #[arg(long, global = true, env = "TRAILSEARCH_TIMEOUT", default_value = "30s", value_parser = crate::time::parse_duration)]
    pub timeout: std::time::Duration,
    /// Longest time to keep retrying a batch before its object fails.
    #[arg(long, global = true, env = "TRAILSEARCH_MAX_RETRY_TIME", default_value = "5m", value_parser = crate::time::parse_duration)]
    pub max_retry_time: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files or directories (read recursively).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<String>,
    /// Only events at or after this time (RFC 3339, YYYY-MM-DD, or 7d/2h ago).
    #[arg(long, value_parser = crate::time::parse_time)]
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// Only events at or before this time.
    #[arg(long, value_parser = crate::time::parse_time)]
    pub to: Option<chrono::DateTime<chrono::Utc>>,
    /// Only this account (repeatable).
    #[arg(long)]
    pub account: Vec<String>,
    /// Only this region (repeatable).
    #[arg(long)]
    pub region: Vec<String>,
    /// Print the report as one JSON object (stdout; stderr with --dry-run).
    #[arg(long, value_name = "FORMAT", value_parser = ["json"])]
    pub report: Option<String>,
    /// Write the NDJSON bulk bodies to stdout instead of sending them.
    #[arg(long)]
    pub dry_run: bool,
    /// Bulk request size bound, uncompressed (e.g. 5MiB).
    #[arg(long, env = "TRAILSEARCH_BULK_BYTES", default_value = "5MiB", value_parser = crate::time::parse_bytes)]
    pub bulk_bytes: usize,
    /// Documents per bulk request at most.
    #[arg(long, env = "TRAILSEARCH_BULK_DOCS", default_value_t = 5000)]
    pub bulk_docs: usize,
    /// Objects read at once.
    #[arg(long, env = "TRAILSEARCH_CONCURRENCY", default_value_t = 4)]
    pub concurrency: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Events at or after this time (RFC 3339, YYYY-MM-DD, or 7d/2h ago).
    #[arg(long, value_parser = crate::time::parse_time)]
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// Events at or before this time.
    #[arg(long, value_parser = crate::time::parse_time)]
    pub to: Option<chrono::DateTime<chrono::Utc>>,
    /// eventName, wildcards allowed; comma-separated for several.
    #[arg(long, value_delimiter = ',')]
    pub event_name: Vec<String>,
    /// A user: ARN, user name, principal ID, access key, or a name in an ARN (alice, ops-admin/bob).
    #[arg(long)]
    pub user: Option<String>,
    /// Only failed calls.
    #[arg(long)]
    pub errors: bool,
    /// A Lucene query, e.g. 'requestParameters.dBInstanceIdentifier:prod-orders-db'.
    #[arg(long)]
    pub query: Option<String>,
    /// Events to show at most.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// table, or json (one document per line).
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
}
