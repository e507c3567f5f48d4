//! Flags, exactly as the command-line contract names them.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use trailsearch_ingest::{
    parse_bytes, parse_duration, parse_flavour, parse_granularity, FieldPattern, Settings, SettingsError,
};
use trailsearch_mapping::{Flavour, Granularity};
use trailsearch_sink::{KibanaFlavour, Secret, SigV4Service};

/// Search AWS CloudTrail logs in Elasticsearch or OpenSearch.
#[derive(Debug, Parser)]
#[command(name = "trailsearch", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten, next_help_heading = "Cluster")]
    pub cluster: ClusterArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Install the index templates for the detected cluster flavour (idempotent);
    /// with --kibana-url, import the saved objects into Kibana or OpenSearch Dashboards too.
    Setup(SetupArgs),
    /// Ingest CloudTrail log objects: files, directories (recursive), S3 prefixes.
    Ingest(IngestArgs),
    /// Search indexed events, newest first.
    Search(SearchArgs),
    /// Who really did it: follow an event's credentials back through the calls that issued them (role hops, accounts, federation) to a person, an AWS service, or the edge of the indexed time.
    Trace(TraceArgs),
    /// Prove the logs were not touched: check CloudTrail's signed digests and every log object they list, in S3, for a window of delivery times.
    Verify(VerifyArgs),
    /// Delete event indices whose name date is older than the given age.
    Prune(PruneArgs),
    /// Kibana / OpenSearch Dashboards saved objects (index pattern, searches, visualizations, dashboards).
    Kibana(KibanaArgs),
    /// Dead letters: list them by reason, or replay them through the current mapping.
    #[command(subcommand)]
    Deadletter(DeadletterCommand),
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// Also import the saved objects into this Kibana or OpenSearch Dashboards (same credentials and TLS settings as the cluster).
    #[arg(
        long,
        env = "TRAILSEARCH_KIBANA_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub kibana_url: Option<String>,
    /// kibana or osd (OpenSearch Dashboards) [default: detected (GET /api/status)].
    #[arg(long, env = "TRAILSEARCH_KIBANA_FLAVOUR", value_parser = parse_kibana_flavour)]
    pub kibana_flavour: Option<KibanaFlavour>,
    /// OpenSearch Dashboards' security plugin tenant to import into: global, private, or a tenant's name (sent as the securitytenant header). Kibana has spaces instead: put /s/SPACE in --kibana-url.
    #[arg(
        long,
        env = "TRAILSEARCH_KIBANA_TENANT",
        value_name = "TENANT",
        requires = "kibana_url"
    )]
    pub kibana_tenant: Option<String>,
}

fn parse_kibana_flavour(text: &str) -> Result<KibanaFlavour, String> {
    text.parse()
        .map_err(|e: trailsearch_kibana::UnknownFlavour| e.to_string())
}

#[derive(Debug, Args)]
pub struct KibanaArgs {
    #[command(subcommand)]
    pub command: KibanaCommand,
}

#[derive(Debug, Subcommand)]
pub enum KibanaCommand {
    /// Write the saved objects as NDJSON to stdout (the index pattern follows --index-prefix), for Kibana 8.1 to 9.x or OpenSearch Dashboards 1 to 3: they differ in the map of source locations (setup --kibana-url also leaves the map out for Kibana 7.10 to 8.0).
    Export {
        /// kibana or osd (OpenSearch Dashboards), as for setup (--flavour is the cluster's mapping flavour).
        #[arg(long, value_parser = parse_kibana_flavour, default_value = "kibana")]
        kibana_flavour: KibanaFlavour,
    },
}

/// Which accounts and regions a command reads (CloudTrail's key layout
/// and the records alike).
#[derive(Debug, Args)]
pub struct Scope {
    /// Only this account (repeatable).
    #[arg(long)]
    pub account: Vec<String>,
    /// Only this region (repeatable).
    #[arg(long)]
    pub region: Vec<String>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// s3://bucket/prefix: a trail's prefix, the bucket's root or a folder inside AWSLogs/ (only S3: a copy elsewhere has lost the digests' signature metadata).
    #[arg(value_name = "S3_URL")]
    pub url: String,
    /// Log objects delivered, and digests ending, at or after this time (RFC 3339, YYYY-MM-DD, or 7d/2h ago).
    #[arg(long, value_parser = crate::time::parse_time)]
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// At or before this time [default: now]; log objects of its last two hours that no digest lists yet are pending.
    #[arg(long, value_parser = crate::time::parse_time)]
    pub to: Option<chrono::DateTime<chrono::Utc>>,
    #[command(flatten)]
    pub scope: Scope,
    /// CloudTrail's public keys as `aws cloudtrail list-public-keys` prints them, instead of calling ListPublicKeys.
    #[arg(long, env = "TRAILSEARCH_PUBLIC_KEYS", value_name = "FILE")]
    pub public_keys: Option<PathBuf>,
    /// Print the report as one JSON object on stdout.
    #[arg(long, value_name = "FORMAT", value_parser = ["json"])]
    pub report: Option<String>,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Age, e.g. 365d: indices whose every day is older are deleted.
    #[arg(long, value_parser = parse_duration)]
    pub older_than: Duration,
    /// Only list what would be deleted.
    #[arg(long)]
    pub dry_run: bool,
}

/// The global options only some commands read, and those commands: the
/// others' `--help` leaves them out (they are still accepted anywhere, before
/// or after the command, so scripts keep working).
const SCOPED_OPTIONS: &[(&str, &[&str])] = &[
    ("replicas", &["setup"]),
    ("flavour", &["setup", "ingest", "deadletter"]),
    ("include", &["ingest"]),
    ("exclude", &["ingest"]),
    ("geoip_city_db", &["ingest", "deadletter"]),
    ("geoip_asn_db", &["ingest", "deadletter"]),
    ("max_retry_time", &["ingest", "deadletter"]),
];

/// Commands that talk to no cluster: of the global options they read only
/// the index prefix.
const OFFLINE_COMMANDS: &[&str] = &["kibana", "verify"];

/// Parses the command line, with each command's `--help` showing its own
/// options first, then under a heading the global ones it reads.
pub fn parse() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let command = Cli::command();
    let global: Vec<clap::Arg> = command
        .get_arguments()
        .filter(|a| a.is_global_set())
        .cloned()
        .collect();
    let matches = scope_help(command, &global, None).get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// Gives each command hidden copies of the global options it does not
/// read: clap then propagates only the others into it, and values given to
/// the copies still reach the global options.
fn scope_help(mut command: clap::Command, global: &[clap::Arg], top: Option<&str>) -> clap::Command {
    let names: Vec<String> = command
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    for name in names {
        let top = top.unwrap_or(&name).to_string();
        command = command.mut_subcommand(&name, |sub| scope_help(sub, global, Some(&top)));
    }
    let Some(top) = top else { return command };
    for arg in global {
        let id = arg.get_id().as_str();
        let read = if OFFLINE_COMMANDS.contains(&top) {
            id == "index_prefix"
        } else {
            SCOPED_OPTIONS
                .iter()
                .find(|(option, _)| *option == id)
                .is_none_or(|(_, users)| users.contains(&top))
        };
        if !read {
            command = command.arg(arg.clone().hide(true));
        }
    }
    command
}

/// Cluster settings. Each flag also reads its variable; unset ones take the
/// defaults of `trailsearch_ingest::Settings` (the README's table).
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// Cluster URL [default: http://localhost:9200].
    // Its value is not shown in --help: a URL may carry user:password@.
    #[arg(long, global = true, env = "TRAILSEARCH_ES_URL", hide_env_values = true)]
    pub es_url: Option<String>,
    /// Index names are <prefix>-YYYY.MM.DD; dead letters go to <prefix>_deadletter [default: cloudtrail].
    #[arg(long, global = true, env = "TRAILSEARCH_INDEX_PREFIX")]
    pub index_prefix: Option<String>,
    /// One index per day or per month [default: day].
    #[arg(long, global = true, env = "TRAILSEARCH_GRANULARITY", value_parser = parse_granularity)]
    pub granularity: Option<Granularity>,
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
    #[arg(long, global = true, env = "TRAILSEARCH_AWS_SIGV4", value_parser = ["es", "aoss"])]
    pub aws_sigv4: Option<String>,
    /// Trust this CA certificate (PEM) too.
    #[arg(long, global = true, env = "TRAILSEARCH_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
    /// Do not verify the cluster's TLS certificate (unsafe).
    // 0, false, no, off (any case) and empty mean false, as for other tools.
    #[arg(long, global = true, env = "TRAILSEARCH_INSECURE", value_parser = clap::builder::FalseyValueParser::new())]
    pub insecure: bool,
    /// Gzip request bodies: true or false [default: true; false costs the client less CPU and the link more bytes].
    #[arg(long, global = true, env = "TRAILSEARCH_GZIP_REQUESTS", value_name = "BOOL", value_parser = clap::builder::BoolishValueParser::new())]
    pub gzip_requests: Option<bool>,
    /// Replicas of each index [default: 1].
    #[arg(long, global = true, env = "TRAILSEARCH_REPLICAS", help_heading = "Indexing")]
    pub replicas: Option<u32>,
    /// Mapping flavour: elasticsearch, opensearch, compatible [default: detected; dry runs: opensearch].
    #[arg(long, global = true, env = "TRAILSEARCH_FLAVOUR", value_parser = parse_flavour, help_heading = "Indexing")]
    pub flavour: Option<Flavour>,
    /// Request timeout, e.g. 30s, 2m [default: 30s].
    #[arg(long, global = true, env = "TRAILSEARCH_TIMEOUT", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Ingest only events matching one of these field:pattern (comma-separated), e.g. eventSource:s3.*.
    #[arg(long, global = true, env = "TRAILSEARCH_INCLUDE", value_parser = parse_patterns, help_heading = "Indexing")]
    pub include: Option<Patterns>,
    /// Do not ingest events matching any field:pattern (comma-separated), e.g. eventName:Describe*,readOnly:true.
    #[arg(long, global = true, env = "TRAILSEARCH_EXCLUDE", value_parser = parse_patterns, help_heading = "Indexing")]
    pub exclude: Option<Patterns>,
    /// MaxMind City database (GeoLite2-City.mmdb; path or s3://bucket/key): adds source.geo.*.
    #[arg(
        long,
        global = true,
        env = "TRAILSEARCH_GEOIP_CITY_DB",
        value_name = "PATH",
        help_heading = "Indexing"
    )]
    pub geoip_city_db: Option<String>,
    /// MaxMind ASN database (GeoLite2-ASN.mmdb; path or s3://bucket/key): adds source.as.*.
    #[arg(
        long,
        global = true,
        env = "TRAILSEARCH_GEOIP_ASN_DB",
        value_name = "PATH",
        help_heading = "Indexing"
    )]
    pub geoip_asn_db: Option<String>,
    /// Longest time to keep retrying a batch before its object fails [default: 5m].
    #[arg(long, global = true, env = "TRAILSEARCH_MAX_RETRY_TIME", value_parser = parse_duration)]
    pub max_retry_time: Option<Duration>,
}

/// A comma-separated list of `field:pattern`.
#[derive(Debug, Clone)]
pub struct Patterns(pub Vec<FieldPattern>);

fn parse_patterns(text: &str) -> Result<Patterns, String> {
    FieldPattern::parse_list(text).map(Patterns)
}

impl ClusterArgs {
    /// The settings: flags (or their variables) over the defaults.
    pub fn settings(&self) -> Result<Settings, SettingsError> {
        let d = Settings::default();
        let settings = Settings {
            es_url: self.es_url.clone().unwrap_or(d.es_url),
            index_prefix: self.index_prefix.clone().unwrap_or(d.index_prefix),
            granularity: self.granularity.unwrap_or(d.granularity),
            es_user: self.es_user.clone(),
            es_password: self.es_password.clone().map(Secret::new),
            es_api_key: self.es_api_key.clone().map(Secret::new),
            es_secret_arn: None,
            aws_sigv4: self
                .aws_sigv4
                .as_deref()
                .map(str::parse::<SigV4Service>)
                .transpose()?,
            ca_cert: self.ca_cert.clone(),
            insecure: self.insecure,
            gzip_requests: self.gzip_requests.unwrap_or(d.gzip_requests),
            replicas: self.replicas.unwrap_or(d.replicas),
            flavour: self.flavour,
            timeout: self.timeout.unwrap_or(d.timeout),
            max_retry_time: self.max_retry_time.unwrap_or(d.max_retry_time),
            include: self.include.clone().map(|p| p.0).unwrap_or_default(),
            exclude: self.exclude.clone().map(|p| p.0).unwrap_or_default(),
            geoip_city_db: self.geoip_city_db.clone(),
            geoip_asn_db: self.geoip_asn_db.clone(),
            ..d
        };
        settings.validate()?;
        Ok(settings)
    }
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files, directories (read recursively) or s3://bucket/prefix.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<String>,
    /// Only events at or after this time (RFC 3339, YYYY-MM-DD, or 7d/2h ago).
    #[arg(long, value_parser = crate::time::parse_time)]
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// Only events at or before this time.
    #[arg(long, value_parser = crate::time::parse_time)]
    pub to: Option<chrono::DateTime<chrono::Utc>>,
    #[command(flatten)]
    pub scope: Scope,
    /// Print the report as one JSON object (stdout; stderr with --dry-run).
    #[arg(long, value_name = "FORMAT", value_parser = ["json"])]
    pub report: Option<String>,
    /// Write the NDJSON bulk bodies to stdout instead of sending them.
    #[arg(long)]
    pub dry_run: bool,
    /// Follow symbolic links to directories found inside the directories given (links to files are always followed; loops are detected).
    #[arg(long)]
    pub follow_symlinks: bool,
    /// Name every skipped object with its reason (the counts by reason are always printed).
    #[arg(short, long)]
    pub verbose: bool,
    /// Skip objects that earlier --resume runs finished, and record each object finished now.
    #[arg(long)]
    pub resume: bool,
    /// The --resume state file (implies --resume) [default: $XDG_STATE_HOME/trailsearch/resume/<hash of cluster URL and index prefix>.jsonl].
    #[arg(long, value_name = "PATH")]
    pub resume_file: Option<PathBuf>,
    /// Bulk request size bound, uncompressed, e.g. 5MiB [default: 5MiB].
    #[arg(long, env = "TRAILSEARCH_BULK_BYTES", value_parser = parse_bytes)]
    pub bulk_bytes: Option<usize>,
    /// Documents per bulk request at most [default: 5000].
    #[arg(long, env = "TRAILSEARCH_BULK_DOCS")]
    pub bulk_docs: Option<usize>,
    /// Objects read at once [default: 4].
    #[arg(long, env = "TRAILSEARCH_CONCURRENCY")]
    pub concurrency: Option<usize>,
    /// CloudTrail's public keys for the S3 digests met, as `aws cloudtrail list-public-keys` prints them, instead of calling ListPublicKeys.
    #[arg(long, env = "TRAILSEARCH_PUBLIC_KEYS", value_name = "FILE")]
    pub public_keys: Option<PathBuf>,
    /// Skip S3 digests instead of validating them (their log objects' events stay pending).
    #[arg(long)]
    pub skip_digests: bool,
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
    /// With --user: also the events made with any credentials issued to that user, through every role hop.
    #[arg(long, requires = "user")]
    pub follow_sessions: bool,
    /// Only failed calls.
    #[arg(long)]
    pub errors: bool,
    /// Only provisional copies (from EventBridge, CloudWatch Logs, Kinesis) no S3 record has replaced; with --to 2h, those whose log object should have come by now.
    #[arg(long)]
    pub provisional: bool,
    /// Where calls came from: an IP, a CIDR range (203.0.113.0/24) or a sourceIPAddress such as ec2.amazonaws.com.
    #[arg(long)]
    pub source: Option<String>,
    /// A resource: an ARN (or the name at its end) in resources, or any request parameter's value.
    #[arg(long)]
    pub resource: Option<String>,
    /// Hits per request when paging past the 10,000-hit window.
    #[arg(long, default_value_t = 10_000, hide = true)]
    pub page_size: usize,
    /// A Lucene query, e.g. 'requestParameters.dBInstanceIdentifier:prod-orders-db'.
    #[arg(long)]
    pub query: Option<String>,
    /// Events to show at most.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// table (one line per event), detail (everything of each event: who, with which credentials, from where, the call, the error, the request and response), json (one document per line) or csv.
    #[arg(long, value_enum, default_value = "table")]
    pub format: SearchFormat,
    /// With --format detail: show long values and long requests and responses whole.
    #[arg(long)]
    pub full: bool,
}

#[derive(Debug, Args)]
pub struct TraceArgs {
    /// The eventID of the call to trace.
    #[arg(value_name = "EVENT_ID")]
    pub event_id: String,
    /// table (the chain, newest first, and who is behind it) or json (one object: hops, origin).
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SearchFormat {
    Table,
    Detail,
    Json,
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum DeadletterCommand {
    /// Count the dead letters in <prefix>_deadletter by reason, most frequent first.
    List(DeadletterListArgs),
    /// Shape every dead letter again with the current mapping and send it; remove each one now in an event index (indexed or duplicate).
    Replay(DeadletterReplayArgs),
}

#[derive(Debug, Args)]
pub struct DeadletterListArgs {
    /// table, or json (one object: index, total, reasons).
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct DeadletterReplayArgs {
    /// table, or json (one object: the report's counts and the reasons of what stays).
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    /// Dead letters read, sent and removed per round.
    #[arg(long, default_value_t = 500, hide = true)]
    pub page_size: usize,
}
