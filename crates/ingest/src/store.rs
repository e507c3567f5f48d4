//! Opening objects: local files, and S3 objects streamed from `GetObject`.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};
use chrono::{Duration, NaiveDate};
use tokio_util::io::SyncIoBridge;

use crate::error::IngestError;
use crate::filter::EventFilter;
use crate::source::{ObjectRef, Plan};

/// Why an object failed, and whether trying again later may help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectFailure {
    /// What happened, naming the object (and the record, where one is involved).
    pub message: String,
    /// `false` for throttling, timeouts and cluster trouble (retry later);
    /// `true` for objects that will never read (missing, denied, not CloudTrail, corrupt).
    pub permanent: bool,
}

/// Where objects are read from. Cloning is cheap.
#[derive(Debug, Clone, Default)]
pub struct ObjectStore {
    s3: Option<aws_sdk_s3::Client>,
}

impl ObjectStore {
    /// Local files only.
    pub fn local() -> Self {
        ObjectStore { s3: None }
    }

    /// Local files and S3 through this client.
    pub fn with_s3(client: aws_sdk_s3::Client) -> Self {
        ObjectStore { s3: Some(client) }
    }

    /// An S3 client from the standard AWS chain. `AWS_ENDPOINT_URL` (MinIO,
    /// moto, LocalStack) switches to path-style addressing, since
    /// `bucket.127.0.0.1` does not resolve.
    pub async fn s3_client_from_environment() -> aws_sdk_s3::Client {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let custom_endpoint = std::env::var_os("AWS_ENDPOINT_URL").is_some()
            || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        let s3_config = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(custom_endpoint)
            .build();
        aws_sdk_s3::Client::from_conf(s3_config)
    }

    fn s3(&self) -> Result<&aws_sdk_s3::Client, ObjectFailure> {
        self.s3.as_ref().ok_or_else(|| ObjectFailure {
            message: "no S3 client was configured for s3:// objects".into(),
            permanent: true,
        })
    }

    /// Opens an object for streaming. Call from a blocking thread inside the
    /// runtime: S3 bodies are bridged from async to `Read`, never buffered whole.
    pub fn open_blocking(&self, object: &ObjectRef) -> Result<Box<dyn Read + Send>, ObjectFailure> {
        match object {
            ObjectRef::Local(path) => File::open(path)
                .map(|f| Box::new(f) as Box<dyn Read + Send>)
                .map_err(|e| ObjectFailure {
                    message: format!("cannot open: {e}"),
                    permanent: e.kind() != std::io::ErrorKind::Interrupted,
                }),
            ObjectRef::S3 { bucket, key } => {
                let client = self.s3()?;
                let handle = tokio::runtime::Handle::current();
                let response = handle
                    .block_on(client.get_object().bucket(bucket).key(key).send())
                    .map_err(|e| {
                        let code = e.code().unwrap_or("").to_string();
                        ObjectFailure {
                            permanent: matches!(
                                code.as_str(),
                                "NoSuchKey" | "NoSuchBucket" | "AccessDenied" | "InvalidObjectState"
                            ),
                            message: format!("GetObject failed: {}", sdk_error_text(&e)),
                        }
                    })?;
                Ok(Box::new(SyncIoBridge::new_with_handle(
                    response.body.into_async_read(),
                    handle,
                )))
            }
            ObjectRef::Events { .. } => Ok(Box::new(std::io::Cursor::new(
                object.events_body().unwrap_or_default(),
            ))),
        }
    }

    /// Lists `s3://bucket/prefix` into the plan, walking CloudTrail's key
    /// layout so that only what the filter may want is listed (see
    /// [`ListingStats`]); every key listed is judged by [`Plan::add`].
    ///
    /// Below `AWSLogs/`, the structure is discovered with `delimiter="/"`
    /// (organization IDs and accounts, then `CloudTrail/` and
    /// `CloudTrail-Insight/`, then regions), accounts and regions filtered by
    /// `--account`/`--region`. Digests and other services' folders are never
    /// listed, so they are not counted as skipped. A region is listed whole
    /// without `--from/--to`; with a window of at most 31 days (a day of slack
    /// each side) each day's `YYYY/MM/DD/` prefix is listed; longer or
    /// open-ended windows discover years and months and list those inside the
    /// window whole. A prefix already inside the layout starts from the level
    /// it reaches; above `AWSLogs/` (a trail's key prefix, the bucket's root)
    /// `AWSLogs/` is looked for a few levels down; anything else is listed
    /// whole, as a plain prefix.
    pub async fn plan_s3_prefix(
        &self,
        bucket: &str,
        prefix: &str,
        filter: &EventFilter,
        plan: &mut Plan,
    ) -> Result<S3Listing, IngestError> {
        let mut etags = HashMap::new();
        let folders = match plan.digests {
            true => WITH_DIGESTS,
            false => LOG_FOLDERS,
        };
        let stats = self
            .list_layout(bucket, prefix, filter, folders, |listed: Listed| {
                let before = plan.objects.len();
                let object = ObjectRef::S3 {
                    bucket: bucket.to_string(),
                    key: listed.key,
                };
                plan.add(object, listed.size, filter);
                if let (Some(etag), true) = (listed.etag, plan.objects.len() > before) {
                    if let Some((object, _)) = plan.objects.last() {
                        etags.insert(object.clone(), etag);
                    }
                }
            })
            .await?;
        Ok(S3Listing { stats, etags })
    }

    /// Lists the log objects and digests of `s3://bucket/prefix` on the days
    /// the filter may want (a day of slack each side), along the same key
    /// layout as [`ObjectStore::plan_s3_prefix`]: every key in `CloudTrail/`
    /// and `CloudTrail-Digest/` folders, with its size.
    pub async fn list_integrity(
        &self,
        bucket: &str,
        prefix: &str,
        filter: &EventFilter,
    ) -> Result<(Vec<(String, u64)>, ListingStats), IngestError> {
        let mut keys = Vec::new();
        let stats = self
            .list_layout(bucket, prefix, filter, INTEGRITY_FOLDERS, |listed: Listed| {
                keys.push((listed.key, listed.size))
            })
            .await?;
        Ok((keys, stats))
    }

    /// Walks `s3://bucket/prefix` along the key layout, `folders` under
    /// each account, handing every key to `on_key`.
    async fn list_layout(
        &self,
        bucket: &str,
        prefix: &str,
        filter: &EventFilter,
        folders: &[&str],
        on_key: impl FnMut(Listed),
    ) -> Result<ListingStats, IngestError> {
        let url = format!("s3://{bucket}/{prefix}");
        let client = self.s3().map_err(|f| IngestError::Listing {
            url: url.clone(),
            reason: f.message,
        })?;
        let lister = S3Lister { client, bucket };
        walk(&lister, prefix, filter, folders, on_key)
            .await
            .map_err(|(at, reason)| IngestError::Listing {
                url,
                reason: if at == prefix {
                    reason
                } else {
                    format!("listing {at}: {reason}")
                },
            })
    }

    /// Reads a digest object whole (a few kilobytes): its bytes, gzip
    /// decompressed when they are gzip, and its `signature` user metadata.
    pub async fn read_digest(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<(Vec<u8>, Option<String>), ObjectFailure> {
        let response = self
            .s3()?
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| ObjectFailure {
                permanent: matches!(e.code(), Some("NoSuchKey" | "NoSuchBucket" | "AccessDenied")),
                message: format!("GetObject failed: {}", sdk_error_text(&e)),
            })?;
        let signature = response.metadata().and_then(|m| m.get("signature")).cloned();
        let bytes = response.body.collect().await.map_err(|e| ObjectFailure {
            message: format!("reading the body failed: {e}"),
            permanent: false,
        })?;
        let bytes = bytes.into_bytes().to_vec();
        let bytes = match bytes.starts_with(&[0x1f, 0x8b]) {
            true => {
                use std::io::Read;
                let mut out = Vec::new();
                flate2::read::MultiGzDecoder::new(bytes.as_slice())
                    .read_to_end(&mut out)
                    .map_err(|e| ObjectFailure {
                        message: format!("not gzip: {e}"),
                        permanent: true,
                    })?;
                out
            }
            false => bytes,
        };
        Ok((bytes, signature))
    }
}

/// How much listing an S3 prefix took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListingStats {
    /// `ListObjectsV2` requests made (one per page).
    pub requests: u64,
    /// Object keys listed, whatever the plan made of them.
    pub keys: u64,
}

impl ListingStats {
    /// Adds another listing's counts.
    pub fn add(&mut self, other: &ListingStats) {
        self.requests += other.requests;
        self.keys += other.keys;
    }
}

impl std::fmt::Display for ListingStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "listed {} keys in {} requests", self.keys, self.requests)
    }
}

/// What [`ObjectStore::plan_s3_prefix`] found besides the plan.
#[derive(Debug, Clone, Default)]
pub struct S3Listing {
    /// Requests made and keys listed.
    pub stats: ListingStats,
    /// The ETag (without quotes) of each object the plan reads, where S3 gave one.
    pub etags: HashMap<ObjectRef, String>,
}

// ---- Listing by CloudTrail's key layout ----

/// The folders under an account that ingest lists: events and Insights.
const LOG_FOLDERS: &[&str] = &["CloudTrail", "CloudTrail-Insight"];

/// The folders ingest lists when it validates digests too.
const WITH_DIGESTS: &[&str] = &["CloudTrail", "CloudTrail-Insight", "CloudTrail-Digest"];

/// The folders `verify` lists: log objects and the digests that vouch for them.
const INTEGRITY_FOLDERS: &[&str] = &["CloudTrail", "CloudTrail-Digest"];

/// Windows of at most this many days are listed day by day, without
/// discovering years and months first.
const MAX_DAY_PREFIXES: i64 = 31;

/// Directory levels below a prefix above `AWSLogs/` searched for it.
const MAX_DEPTH_ABOVE: u8 = 3;

/// One object key as a listing returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listed {
    key: String,
    size: u64,
    etag: Option<String>,
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Page {
    /// Keys, in order.
    keys: Vec<Listed>,
    /// Common prefixes (delimited listings only), each ending with `/`.
    prefixes: Vec<String>,
    /// The continuation token, if there is more.
    next: Option<String>,
}

/// Lists keys and common prefixes: S3, or a key set in tests.
trait ListKeys {
    /// One page of `prefix`, grouped by `/` when `delimited`.
    async fn page(&self, prefix: &str, delimited: bool, token: Option<String>) -> Result<Page, String>;
}

struct S3Lister<'a> {
    client: &'a aws_sdk_s3::Client,
    bucket: &'a str,
}

impl ListKeys for S3Lister<'_> {
    async fn page(&self, prefix: &str, delimited: bool, token: Option<String>) -> Result<Page, String> {
        let mut request = self
            .client
            .list_objects_v2()
            .bucket(self.bucket)
            .prefix(prefix)
            .set_continuation_token(token);
        if delimited {
            request = request.delimiter("/");
        }
        let out = request.send().await.map_err(|e| sdk_error_text(&e))?;
        let keys = out
            .contents()
            .iter()
            .filter_map(|object| {
                Some(Listed {
                    key: object.key()?.to_string(),
                    size: object.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                    etag: object.e_tag().map(|e| e.trim_matches('"').to_string()),
                })
            })
            .collect();
        let prefixes = out
            .common_prefixes()
            .iter()
            .filter_map(|p| p.prefix().map(str::to_string))
            .collect();
        let next = match out.is_truncated() {
            Some(true) => out.next_continuation_token().map(str::to_string),
            _ => None,
        };
        Ok(Page { keys, prefixes, next })
    }
}

/// Where a prefix stands in `[prefix/]AWSLogs/[o-org/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/`,
/// i.e. what its children are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    /// Above `AWSLogs/`: `AWSLogs/` is looked for this many levels further down.
    Above(u8),
    /// `AWSLogs/`: organization IDs and accounts.
    AwsLogs,
    /// `AWSLogs/o-…/`: accounts.
    Org,
    /// `…/ACCOUNT/`: `CloudTrail/`, `CloudTrail-Insight/`.
    Account,
    /// `…/CloudTrail/`: regions.
    Kind,
    /// `…/REGION/`: years.
    Region,
    /// `…/YYYY/`: months.
    Year(i32),
    /// `…/YYYY/MM/`: days.
    Month(i32, u32),
    /// Listed whole, without a delimiter: a day, a span inside the window,
    /// or a prefix outside the layout.
    All,
}

/// What a child prefix of a level is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Child {
    /// In the layout and wanted.
    Level(Level),
    /// In the layout but excluded by the filter: not listed.
    Excluded,
    /// Not in the layout (digests, other services, stray folders).
    Foreign,
}

/// A prefix to list (or expand) and its level.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Task {
    prefix: String,
    level: Level,
}

/// The days the filter's keys may be dated, as `EventFilter::key_may_match`
/// judges them: `--from` less a day to `--to` plus a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DayWindow {
    first: Option<NaiveDate>,
    last: Option<NaiveDate>,
}

impl DayWindow {
    fn of(filter: &EventFilter) -> DayWindow {
        let slack = Duration::days(1);
        DayWindow {
            first: filter.from.map(|t| (t - slack).date_naive()),
            last: filter.to.map(|t| (t + slack).date_naive()),
        }
    }

    fn overlaps(&self, first: NaiveDate, last: NaiveDate) -> bool {
        self.first.is_none_or(|f| last >= f) && self.last.is_none_or(|l| first <= l)
    }

    fn covers(&self, first: NaiveDate, last: NaiveDate) -> bool {
        self.first.is_none_or(|f| f <= first) && self.last.is_none_or(|l| last <= l)
    }

    /// The window's days within `[first, last]`, when the window is bounded
    /// and they are few enough to list one by one.
    fn few_days(&self, first: NaiveDate, last: NaiveDate) -> Option<Vec<NaiveDate>> {
        let from = self.first?.max(first);
        let to = self.last?.min(last);
        if (to - from).num_days() >= MAX_DAY_PREFIXES {
            return None;
        }
        Some(from.iter_days().take_while(|d| *d <= to).collect())
    }
}

/// The level a listing of `prefix` starts at; `None` when the prefix fixes
/// something the filter excludes (an account, a region, a day).
fn start(prefix: &str, filter: &EventFilter, window: &DayWindow, folders: &[&str]) -> Option<Task> {
    // Complete components only: a trailing partial one is left to S3's prefix match.
    let complete = prefix.rsplit_once('/').map_or("", |(complete, _)| complete);
    let components: Vec<&str> = complete.split('/').collect();
    let level = match components.iter().rposition(|c| *c == "AWSLogs") {
        None => Level::Above(MAX_DEPTH_ABOVE),
        Some(i) => {
            let mut level = Level::AwsLogs;
            for component in &components[i + 1..] {
                if level == Level::All {
                    break;
                }
                level = match child(level, component, filter, window, folders) {
                    Child::Level(next) => next,
                    Child::Excluded => return None,
                    // Asked for explicitly: listed whole, judged key by key.
                    Child::Foreign => Level::All,
                };
            }
            level
        }
    };
    Some(Task {
        prefix: prefix.to_string(),
        level,
    })
}

/// What the child folder `name` of a `level` folder is.
fn child(level: Level, name: &str, filter: &EventFilter, window: &DayWindow, folders: &[&str]) -> Child {
    let wanted = |list: &[String], level| {
        if list.is_empty() || list.iter().any(|w| w == name) {
            Child::Level(level)
        } else {
            Child::Excluded
        }
    };
    match level {
        Level::Above(_) if name == "AWSLogs" => Child::Level(Level::AwsLogs),
        Level::Above(0) => Child::Level(Level::All),
        Level::Above(depth) => Child::Level(Level::Above(depth - 1)),
        Level::AwsLogs if is_org_id(name) => Child::Level(Level::Org),
        Level::AwsLogs | Level::Org if is_account(name) => wanted(&filter.accounts, Level::Account),
        Level::Account if folders.contains(&name) => Child::Level(Level::Kind),
        Level::Kind if is_region(name) => match wanted(&filter.regions, Level::Region) {
            // No window: the whole region.
            Child::Level(region) => in_window(window, NaiveDate::MIN, NaiveDate::MAX, region),
            excluded => excluded,
        },
        Level::Region => match digits(name, 4).and_then(|y| Some((y, year_span(y)?))) {
            Some((year, (first, last))) => in_window(window, first, last, Level::Year(year)),
            None => Child::Foreign,
        },
        Level::Year(year) => match digits(name, 2).and_then(|m| Some((m, month_span(year, m)?))) {
            Some((month, (first, last))) => in_window(window, first, last, Level::Month(year, month)),
            None => Child::Foreign,
        },
        Level::Month(year, month) => {
            match digits(name, 2).and_then(|d| NaiveDate::from_ymd_opt(year, month, d)) {
                Some(day) => in_window(window, day, day, Level::All),
                None => Child::Foreign,
            }
        }
        _ => Child::Foreign,
    }
}

/// A span of days: excluded outside the window, listed whole inside it,
/// else looked into (`partly`).
fn in_window(window: &DayWindow, first: NaiveDate, last: NaiveDate, partly: Level) -> Child {
    if !window.overlaps(first, last) {
        Child::Excluded
    } else if window.covers(first, last) {
        Child::Level(Level::All)
    } else {
        Child::Level(partly)
    }
}

/// The day prefixes of a region, year or month folder, when the window has
/// few enough days in it to list them without discovering the folders first.
fn day_prefixes(task: &Task, window: &DayWindow) -> Option<Vec<Task>> {
    let ((first, last), format) = match task.level {
        Level::Region => ((NaiveDate::MIN, NaiveDate::MAX), "%Y/%m/%d/"),
        Level::Year(year) => (year_span(year)?, "%m/%d/"),
        Level::Month(year, month) => (month_span(year, month)?, "%d/"),
        _ => return None,
    };
    let days = window.few_days(first, last)?;
    // The folder; a partial last component of the user's prefix still applies.
    let folder = &task.prefix[..task.prefix.rfind('/').map_or(0, |i| i + 1)];
    Some(
        days.into_iter()
            .map(|day| format!("{folder}{}", day.format(format)))
            .filter(|prefix| prefix.starts_with(&task.prefix))
            .map(|prefix| Task {
                prefix,
                level: Level::All,
            })
            .collect(),
    )
}

/// Lists `prefix` level by level; every key goes to `on_key`. On failure,
/// returns the prefix whose listing failed and why.
async fn walk<L: ListKeys>(
    lister: &L,
    prefix: &str,
    filter: &EventFilter,
    folders: &[&str],
    mut on_key: impl FnMut(Listed),
) -> Result<ListingStats, (String, String)> {
    let window = DayWindow::of(filter);
    let mut stats = ListingStats::default();
    // Depth first, children in order: keys come out in the order a flat listing gives.
    let mut stack: Vec<Task> = start(prefix, filter, &window, folders).into_iter().collect();
    while let Some(task) = stack.pop() {
        if let Some(days) = day_prefixes(&task, &window) {
            stack.extend(days.into_iter().rev());
            continue;
        }
        let delimited = task.level != Level::All;
        let mut children = Vec::new();
        let mut token = None;
        loop {
            let page = lister
                .page(&task.prefix, delimited, token.take())
                .await
                .map_err(|reason| (task.prefix.clone(), reason))?;
            stats.requests += 1;
            stats.keys += page.keys.len() as u64;
            page.keys.into_iter().for_each(&mut on_key);
            for folder in page.prefixes {
                let name = folder.trim_end_matches('/').rsplit('/').next().unwrap_or("");
                match child(task.level, name, filter, &window, folders) {
                    Child::Level(level) => children.push(Task {
                        prefix: folder,
                        level,
                    }),
                    Child::Excluded => {}
                    Child::Foreign => tracing::debug!(%folder, "not listed: not in CloudTrail's key layout"),
                }
            }
            match page.next {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        stack.extend(children.into_iter().rev());
    }
    Ok(stats)
}

/// `o-` followed by 10 to 32 lowercase letters or digits.
fn is_org_id(s: &str) -> bool {
    s.strip_prefix("o-").is_some_and(|id| {
        (10..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_region(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Exactly `width` ASCII digits, as a number.
fn digits<T: std::str::FromStr>(s: &str, width: usize) -> Option<T> {
    if s.len() == width && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

fn year_span(year: i32) -> Option<(NaiveDate, NaiveDate)> {
    Some((
        NaiveDate::from_ymd_opt(year, 1, 1)?,
        NaiveDate::from_ymd_opt(year, 12, 31)?,
    ))
}

fn month_span(year: i32, month: u32) -> Option<(NaiveDate, NaiveDate)> {
    let first = NaiveDate::from_ymd_opt(year, month, 1)?;
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)?
    };
    Some((first, next.pred_opt()?))
}

/// An SDK error in one line: the service's code and message when it
/// answered (`NoSuchKey: The specified key does not exist.`), else the
/// cause chain, without the raw response the SDK's `Display` appends.
pub(crate) fn sdk_error_text<E, R>(error: &aws_sdk_s3::error::SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_string(),
        _ => DisplayErrorContext(error).to_string(),
    }
}

/// Splits `s3://bucket/prefix`.
pub fn parse_s3_url(url: &str) -> Result<(String, String), IngestError> {
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| IngestError::BadS3Url(url.to_string()))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(IngestError::BadS3Url(url.to_string()));
    }
    Ok((bucket.to_string(), prefix.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    use chrono::{DateTime, TimeZone, Utc};

    /// A bucket in memory that answers like `ListObjectsV2` and records each request.
    struct Bucket {
        keys: BTreeMap<String, u64>,
        page_size: usize,
        requests: RefCell<Vec<String>>,
    }

    impl Bucket {
        fn new(keys: impl IntoIterator<Item = String>) -> Bucket {
            Bucket {
                keys: keys.into_iter().map(|k| (k, 10)).collect(),
                page_size: 1000,
                requests: RefCell::default(),
            }
        }
    }

    impl ListKeys for Bucket {
        async fn page(&self, prefix: &str, delimited: bool, token: Option<String>) -> Result<Page, String> {
            // `d:` a delimited listing, `*:` everything below.
            let kind = if delimited { "d" } else { "*" };
            self.requests.borrow_mut().push(format!("{kind}:{prefix}"));
            enum Entry {
                Key(String),
                Folder(String),
            }
            let mut entries: Vec<Entry> = Vec::new();
            for key in self.keys.keys().filter(|k| k.starts_with(prefix)) {
                let rest = &key[prefix.len()..];
                match rest.find('/').filter(|_| delimited) {
                    Some(i) => {
                        let folder = format!("{prefix}{}", &rest[..=i]);
                        if !matches!(entries.last(), Some(Entry::Folder(f)) if *f == folder) {
                            entries.push(Entry::Folder(folder));
                        }
                    }
                    None => entries.push(Entry::Key(key.clone())),
                }
            }
            let skip: usize = token.map_or(0, |t| t.parse().unwrap());
            let mut page = Page::default();
            for entry in entries.into_iter().skip(skip).take(self.page_size + 1) {
                if page.keys.len() + page.prefixes.len() == self.page_size {
                    page.next = Some((skip + self.page_size).to_string());
                    break;
                }
                match entry {
                    Entry::Key(key) => page.keys.push(Listed {
                        size: self.keys[&key],
                        key,
                        etag: Some("e".into()),
                    }),
                    Entry::Folder(folder) => page.prefixes.push(folder),
                }
            }
            Ok(page)
        }
    }

    const A: &str = "111122223333";
    const B: &str = "444455556666";
    const ORG: &str = "o-a1b2c3d4e5";

    /// Two files a day from 2023-12-30 to 2024-03-16 for two accounts (one
    /// through an organization trail) in two regions, insights, digests,
    /// another service's logs and a stray file, under `trail/`.
    fn corpus() -> Vec<String> {
        let start = NaiveDate::from_ymd_opt(2023, 12, 30).unwrap();
        let end = NaiveDate::from_ymd_opt(2024, 3, 16).unwrap();
        let mut keys = Vec::new();
        for account_dir in [A.to_string(), format!("{ORG}/{B}")] {
            for region in ["eu-west-1", "us-east-1"] {
                for day in start.iter_days().take_while(|d| *d <= end) {
                    let date = day.format("%Y/%m/%d");
                    for n in 0..2 {
                        keys.push(format!(
                            "trail/AWSLogs/{account_dir}/CloudTrail/{region}/{date}/x_CloudTrail_{region}_{n}.json.gz"
                        ));
                    }
                    keys.push(format!(
                        "trail/AWSLogs/{account_dir}/CloudTrail-Digest/{region}/{date}/x_CloudTrail-Digest_{region}.json.gz"
                    ));
                }
            }
        }
        keys.push(format!(
            "trail/AWSLogs/{A}/CloudTrail-Insight/us-east-1/2024/03/14/x_CloudTrail-Insight_us-east-1.json.gz"
        ));
        keys.push(format!(
            "trail/AWSLogs/{A}/elasticloadbalancing/us-east-1/2024/03/14/lb.log.gz"
        ));
        keys.push(format!("trail/AWSLogs/{A}/README.txt"));
        keys
    }

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    fn between(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> EventFilter {
        EventFilter {
            from,
            to,
            ..Default::default()
        }
    }

    /// Walks `prefix` of `bucket` into a plan: the requests made, the plan, the stats.
    fn walk_into_plan(
        bucket: &Bucket,
        prefix: &str,
        filter: &EventFilter,
    ) -> (Vec<String>, Plan, ListingStats) {
        let mut plan = Plan::default();
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let stats = runtime
            .block_on(walk(bucket, prefix, filter, LOG_FOLDERS, |listed: Listed| {
                let object = ObjectRef::S3 {
                    bucket: "b".into(),
                    key: listed.key,
                };
                plan.add(object, listed.size, filter);
            }))
            .unwrap();
        (bucket.requests.take(), plan, stats)
    }

    fn keys(plan: &Plan) -> Vec<String> {
        plan.objects
            .iter()
            .map(|(object, _)| object.name().trim_start_matches("s3://b/").to_string())
            .collect()
    }

    #[test]
    fn one_day_of_one_region_lists_that_day_and_its_neighbours_only() {
        let bucket = Bucket::new(corpus());
        let filter = EventFilter {
            regions: vec!["us-east-1".into()],
            ..between(Some(at(2024, 3, 14, 0)), Some(at(2024, 3, 14, 23)))
        };
        let (requests, plan, stats) = walk_into_plan(&bucket, "trail/", &filter);
        let ct = |account: &str| format!("trail/AWSLogs/{account}/CloudTrail/us-east-1");
        // In S3's order: `CloudTrail-Insight/` sorts before `CloudTrail/`.
        let mut expected = vec![
            "d:trail/".to_string(),
            "d:trail/AWSLogs/".into(),
            format!("d:trail/AWSLogs/{A}/"),
            format!("d:trail/AWSLogs/{A}/CloudTrail-Insight/"),
        ];
        expected.extend(
            (13..=15).map(|d| format!("*:trail/AWSLogs/{A}/CloudTrail-Insight/us-east-1/2024/03/{d}/")),
        );
        expected.push(format!("d:trail/AWSLogs/{A}/CloudTrail/"));
        expected.extend((13..=15).map(|d| format!("*:{}/2024/03/{d}/", ct(A))));
        expected.extend([
            format!("d:trail/AWSLogs/{ORG}/"),
            format!("d:trail/AWSLogs/{ORG}/{B}/"),
            format!("d:trail/AWSLogs/{ORG}/{B}/CloudTrail/"),
        ]);
        expected.extend((13..=15).map(|d| format!("*:{}/2024/03/{d}/", ct(&format!("{ORG}/{B}")))));
        assert_eq!(requests, expected);
        // 2 accounts x 3 days x 2 files, the insight file and the stray file
        // at the account level: no other day, region or digest was listed.
        assert_eq!(
            stats,
            ListingStats {
                requests: expected.len() as u64,
                keys: 14
            }
        );
        assert_eq!(plan.objects.len(), 13);
        let skipped: Vec<String> = plan.skipped.iter().map(|(object, _)| object.name()).collect();
        assert_eq!(skipped, [format!("s3://b/trail/AWSLogs/{A}/README.txt")]);
        assert_eq!(plan.pruned, 0);
    }

    #[test]
    fn without_dates_each_region_is_listed_whole_and_digests_never() {
        let bucket = Bucket::new(corpus());
        let filter = EventFilter {
            accounts: vec![A.into()],
            ..Default::default()
        };
        let (requests, plan, stats) = walk_into_plan(&bucket, "trail/AWSLogs/", &filter);
        assert_eq!(
            requests,
            [
                "d:trail/AWSLogs/".to_string(),
                format!("d:trail/AWSLogs/{A}/"),
                format!("d:trail/AWSLogs/{A}/CloudTrail-Insight/"),
                format!("*:trail/AWSLogs/{A}/CloudTrail-Insight/us-east-1/"),
                format!("d:trail/AWSLogs/{A}/CloudTrail/"),
                format!("*:trail/AWSLogs/{A}/CloudTrail/eu-west-1/"),
                format!("*:trail/AWSLogs/{A}/CloudTrail/us-east-1/"),
                // The organization is looked into; account B is filtered out there.
                format!("d:trail/AWSLogs/{ORG}/"),
            ]
        );
        let days = 78;
        assert_eq!(plan.objects.len(), 2 * 2 * days + 1);
        // The stray file at the account level is listed and judged by Plan::add.
        assert_eq!(plan.skipped.len(), 1, "{:?}", plan.skipped);
        assert_eq!(stats.keys, 2 * 2 * days as u64 + 2);
        // Keys come out in the order a flat listing gives them.
        let read = keys(&plan);
        let mut sorted = read.clone();
        sorted.sort();
        assert_eq!(read, sorted);
    }

    #[test]
    fn open_ended_windows_discover_years_months_and_days() {
        let bucket = Bucket::new(corpus());
        let filter = EventFilter {
            accounts: vec![A.into()],
            regions: vec!["eu-west-1".into()],
            ..between(Some(at(2024, 3, 14, 12)), None)
        };
        let (requests, plan, _) = walk_into_plan(&bucket, "trail/AWSLogs/", &filter);
        let region = format!("trail/AWSLogs/{A}/CloudTrail/eu-west-1/");
        let mut expected = vec![
            "d:trail/AWSLogs/".to_string(),
            format!("d:trail/AWSLogs/{A}/"),
            format!("d:trail/AWSLogs/{A}/CloudTrail-Insight/"),
            format!("d:trail/AWSLogs/{A}/CloudTrail/"),
            format!("d:{region}"),
            format!("d:{region}2024/"),
            format!("d:{region}2024/03/"),
        ];
        expected.extend((13..=16).map(|d| format!("*:{region}2024/03/{d}/")));
        expected.push(format!("d:trail/AWSLogs/{ORG}/"));
        assert_eq!(requests, expected);
        assert_eq!(plan.objects.len(), 4 * 2);
    }

    #[test]
    fn long_windows_list_the_months_inside_them_whole() {
        let bucket = Bucket::new(corpus());
        let filter = EventFilter {
            accounts: vec![A.into()],
            regions: vec!["eu-west-1".into()],
            ..between(Some(at(2024, 1, 31, 12)), Some(at(2024, 3, 1, 0)))
        };
        let (requests, plan, _) = walk_into_plan(&bucket, &format!("trail/AWSLogs/{A}/CloudTrail/"), &filter);
        let region = format!("trail/AWSLogs/{A}/CloudTrail/eu-west-1/");
        assert_eq!(
            requests,
            [
                format!("d:trail/AWSLogs/{A}/CloudTrail/"),
                format!("d:{region}"),
                // 33 days: too many to list one by one from the region...
                format!("d:{region}2024/"),
                // ...but few enough in January and March.
                format!("*:{region}2024/01/30/"),
                format!("*:{region}2024/01/31/"),
                format!("*:{region}2024/02/"),
                format!("*:{region}2024/03/01/"),
                format!("*:{region}2024/03/02/"),
            ]
        );
        assert_eq!(plan.objects.len(), (2 + 29 + 2) * 2);
    }

    #[test]
    fn prefixes_inside_the_layout_start_where_they_point() {
        let bucket = Bucket::new(corpus());
        let day = between(Some(at(2024, 1, 1, 0)), Some(at(2024, 1, 1, 1)));
        let region = format!("trail/AWSLogs/{A}/CloudTrail/us-east-1/");

        let (requests, plan, _) = walk_into_plan(&bucket, &region, &day);
        assert_eq!(
            requests,
            [
                format!("*:{region}2023/12/31/"),
                format!("*:{region}2024/01/01/"),
                format!("*:{region}2024/01/02/"),
            ]
        );
        assert_eq!(plan.objects.len(), 6);

        // A partial last component is S3's prefix match: `2024/0` keeps 2024's days only.
        let (requests, _, _) = walk_into_plan(&bucket, &format!("{region}2024/0"), &day);
        assert_eq!(
            requests,
            [format!("*:{region}2024/01/01/"), format!("*:{region}2024/01/02/")]
        );

        let (requests, _, _) = walk_into_plan(&bucket, &format!("{region}2024/01/01/"), &day);
        assert_eq!(requests, [format!("*:{region}2024/01/01/")]);

        let (requests, _, _) = walk_into_plan(&bucket, &format!("{region}2024/03/"), &day);
        assert!(requests.is_empty(), "a month outside the window: {requests:?}");

        let (requests, _, _) = walk_into_plan(&bucket, "trail/AWSLogs/1111", &EventFilter::default());
        assert_eq!(
            requests[..2],
            [
                "d:trail/AWSLogs/1111".to_string(),
                format!("d:trail/AWSLogs/{A}/")
            ]
        );

        let only_b = EventFilter {
            accounts: vec![B.into()],
            ..Default::default()
        };
        let (requests, _, _) = walk_into_plan(&bucket, &region, &only_b);
        assert!(
            requests.is_empty(),
            "an account the filter excludes: {requests:?}"
        );
    }

    #[test]
    fn prefixes_outside_the_layout_are_listed_whole() {
        let bucket = Bucket::new(corpus());
        let filter = between(Some(at(2024, 3, 14, 0)), Some(at(2024, 3, 14, 1)));
        for folder in ["elasticloadbalancing/", "CloudTrail-Digest/"] {
            let prefix = format!("trail/AWSLogs/{A}/{folder}");
            let (requests, plan, _) = walk_into_plan(&bucket, &prefix, &filter);
            assert_eq!(requests, [format!("*:{prefix}")]);
            assert!(plan.objects.is_empty());
            assert!(!plan.skipped.is_empty(), "listed, then skipped by Plan::add");
        }
        // `AWSLogs/` is looked for three folders down; below that, and in
        // folders outside the layout, everything is listed and judged key by key.
        let bucket = Bucket::new([
            "a/b/c/AWSLogs/f.json.gz".to_string(),
            "a/b/c/d/AWSLogs/f.json.gz".to_string(),
            "a/f.json.gz".to_string(),
        ]);
        let (requests, plan, _) = walk_into_plan(&bucket, "a/", &filter);
        assert_eq!(
            requests,
            [
                "d:a/",
                "d:a/b/",
                "d:a/b/c/",
                "d:a/b/c/AWSLogs/",
                "d:a/b/c/d/",
                "d:a/b/c/d/AWSLogs/"
            ]
        );
        // The files directly under `AWSLogs/` are not CloudTrail's; `a/f.json.gz` may be.
        assert_eq!(plan.objects.len(), 1);
        assert_eq!(plan.skipped.len(), 2);
        let (requests, _, _) = walk_into_plan(&bucket, "", &filter);
        assert_eq!(
            requests,
            [
                "d:",
                "d:a/",
                "d:a/b/",
                "d:a/b/c/",
                "d:a/b/c/AWSLogs/",
                "*:a/b/c/d/"
            ]
        );
    }

    #[test]
    fn every_page_is_a_request() {
        let mut bucket = Bucket::new(corpus());
        bucket.page_size = 2;
        let filter = EventFilter {
            accounts: vec![A.into()],
            regions: vec!["us-east-1".into()],
            ..between(Some(at(2024, 3, 14, 0)), Some(at(2024, 3, 14, 1)))
        };
        let (requests, plan, stats) = walk_into_plan(&bucket, "trail/AWSLogs/", &filter);
        assert_eq!(stats.requests, requests.len() as u64);
        assert_eq!(plan.objects.len(), 3 * 2 + 1);
        assert_eq!(stats.keys, 3 * 2 + 1 + 1, "and the stray file");
        // AWSLogs/ has 2 folders (1 page), the account 4 folders and a file (3 pages).
        assert_eq!(
            requests
                .iter()
                .filter(|r| *r == &format!("d:trail/AWSLogs/{A}/"))
                .count(),
            3
        );
    }

    #[test]
    fn the_window_is_the_days_key_may_match_keeps() {
        let filters = [
            between(Some(at(2024, 3, 14, 0)), Some(at(2024, 3, 14, 23))),
            between(Some(at(2024, 2, 29, 23)), None),
            between(None, Some(at(2024, 1, 1, 0))),
            between(None, None),
        ];
        let first = NaiveDate::from_ymd_opt(2023, 12, 1).unwrap();
        for filter in &filters {
            let window = DayWindow::of(filter);
            for day in first.iter_days().take(150) {
                let key = trailsearch_cloudtrail::LogKey::parse(&format!(
                    "AWSLogs/{A}/CloudTrail/us-east-1/{}/f.json.gz",
                    day.format("%Y/%m/%d")
                ))
                .unwrap();
                assert_eq!(
                    window.overlaps(day, day),
                    filter.key_may_match(&key),
                    "{day} with {filter:?}"
                );
            }
        }
    }

    #[test]
    fn s3_urls() {
        assert_eq!(
            parse_s3_url("s3://b/AWSLogs/1/").unwrap(),
            ("b".into(), "AWSLogs/1/".into())
        );
        assert_eq!(parse_s3_url("s3://b").unwrap(), ("b".into(), String::new()));
        assert!(parse_s3_url("s3:///x").is_err());
        assert!(parse_s3_url("http://b/x").is_err());
    }
}
