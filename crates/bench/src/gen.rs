//! A deterministic generator of realistic CloudTrail log objects: the
//! service and event mix of a busy account (mostly read-only `Describe*`,
//! `Get*`, `List*`, role assumptions and KMS calls, some writes and data
//! events, a few console sign-ins), an error rate of about 6.5%, the five
//! common `userIdentity` types, IPv4/IPv6/private/service source addresses,
//! the usual user agents, and per-event `requestParameters`,
//! `responseElements` and `resources`. Same seed, same bytes.

use std::io::{self, Write};
use std::rc::Rc;

use flate2::write::GzEncoder;
use flate2::{Compression, GzBuilder};

use crate::json::{obj, J};
use crate::rng::{mix, uuid_of, Rng};
use crate::variety::{roughen, Odd, Variety};

/// The account every record belongs to.
pub const ACCOUNT: &str = "111122223333";
/// The region of every record.
pub const REGION: &str = "us-east-1";
/// The UTC day every `eventTime` falls on unless another is asked for (so
/// one daily index per object).
pub const DAY: &str = "2026-11-20";
/// The probability that a call fails (`errorCode`/`errorMessage`).
pub const ERROR_RATE: f64 = 0.065;

/// What one generated object holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Records written.
    pub records: u64,
    /// Bytes of the uncompressed JSON document.
    pub json_bytes: u64,
    /// Bytes of the gzip object.
    pub compressed_bytes: u64,
    /// Mean compact JSON bytes per record.
    pub avg_record_bytes: u64,
    /// `json_bytes / compressed_bytes`.
    pub compression_ratio: f64,
    /// Records with a free-shaped leaf past Lucene's term limit.
    pub long_leaf_records: u64,
    /// Records with a string where an object belongs (degraded when shaped).
    pub wrong_type_records: u64,
}

impl Summary {
    /// The one JSON line the generator prints.
    pub fn to_json(&self) -> String {
        format!(
            "{{\"records\":{},\"json_bytes\":{},\"compressed_bytes\":{},\"avg_record_bytes\":{},\"compression_ratio\":{:.2},\"long_leaf_records\":{},\"wrong_type_records\":{}}}",
            self.records, self.json_bytes, self.compressed_bytes, self.avg_record_bytes, self.compression_ratio,
            self.long_leaf_records, self.wrong_type_records
        )
    }
}

/// Counts the bytes written through it.
struct Counting<W> {
    inner: W,
    written: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes `{"Records":[...]}` gzip-compressed (level 6, mtime 0) to `out`,
/// adding records until the compressed output reaches `target_bytes`.
/// Records are generated on a second thread while this one compresses (the
/// two cost about the same), so the output is the same as a serial run's.
/// Records generated together: their bytes, and each one's length and oddness.
type Batch = (Vec<u8>, Vec<(usize, Odd)>);

/// Every `eventTime` falls on `day` (`YYYY-MM-DD`).
pub fn write_object<W: Write>(
    out: W,
    seed: u64,
    target_bytes: u64,
    day: &str,
    variety: Variety,
) -> io::Result<Summary> {
    let (record_bytes, ratio) = variety.expected();
    let expected = (target_bytes * ratio / record_bytes).max(1);
    let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(4);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut gen = Generator::new(seed, expected, day);
            gen.variety = variety;
            loop {
                let mut bytes = Vec::with_capacity(512 * 1024);
                let mut lengths = Vec::with_capacity(400);
                while bytes.len() < 480 * 1024 {
                    let start = bytes.len();
                    let odd = gen.next_record(&mut bytes);
                    lengths.push((bytes.len() - start, odd));
                }
                // The receiver hangs up once the object is big enough.
                if tx.send((bytes, lengths)).is_err() {
                    return;
                }
            }
        });
        let result = compress(out, target_bytes, &rx);
        // Unblocks the generator thread whatever happened.
        drop(rx);
        result
    })
}

fn compress<W: Write>(
    out: W,
    target_bytes: u64,
    batches: &std::sync::mpsc::Receiver<Batch>,
) -> io::Result<Summary> {
    let counting = Counting {
        inner: out,
        written: 0,
    };
    let mut gz: GzEncoder<Counting<W>> = GzBuilder::new().mtime(0).write(counting, Compression::new(6));
    let mut json_bytes = 0u64;
    let mut record_bytes = 0u64;
    let mut records = 0u64;
    let (mut long_leaf_records, mut wrong_type_records) = (0u64, 0u64);
    gz.write_all(b"{\"Records\":[")?;
    json_bytes += 12;
    'outer: while gz.get_ref().written < target_bytes {
        let (bytes, lengths) = batches
            .recv()
            .map_err(|_| io::Error::other("the generator thread stopped"))?;
        let mut at = 0;
        for (len, odd) in lengths {
            if gz.get_ref().written >= target_bytes {
                break 'outer;
            }
            if records > 0 {
                gz.write_all(b",")?;
                json_bytes += 1;
            }
            gz.write_all(&bytes[at..at + len])?;
            at += len;
            records += 1;
            long_leaf_records += u64::from(odd.long_leaf);
            wrong_type_records += u64::from(odd.wrong_type);
            record_bytes += len as u64;
            json_bytes += len as u64;
        }
    }
    gz.write_all(b"]}")?;
    json_bytes += 2;
    let mut counting = gz.finish()?;
    counting.flush()?;
    Ok(Summary {
        records,
        json_bytes,
        compressed_bytes: counting.written,
        avg_record_bytes: record_bytes / records.max(1),
        compression_ratio: json_bytes as f64 / counting.written.max(1) as f64,
        long_leaf_records,
        wrong_type_records,
    })
}

/// How a principal is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// People: console, CLI.
    Human,
    /// CI, applications, instance and Lambda roles.
    Automation,
    /// The account's root user.
    Root,
}

/// Someone making calls, with their habits.
#[derive(Debug)]
struct Principal {
    /// The serialized `userIdentity`.
    identity: Rc<str>,
    class: Class,
    weight: u32,
    /// User agent templates (`{cmd}` is replaced by the CLI command).
    agents: Vec<&'static str>,
    ips: Vec<String>,
    /// Console sessions carry `sessionCredentialFromConsole`.
    console: bool,
    arn: String,
}

/// One kind of event and how often it occurs.
struct Ev {
    src: &'static str,
    name: &'static str,
    weight: u32,
    read_only: bool,
    /// AWS services that make this call themselves, and how often.
    by_service: (&'static [&'static str], f64),
}

const fn ev(src: &'static str, name: &'static str, weight: u32, read_only: bool) -> Ev {
    Ev {
        src,
        name,
        weight,
        read_only,
        by_service: (&[], 0.0),
    }
}

const fn svc(mut e: Ev, services: &'static [&'static str], p: f64) -> Ev {
    e.by_service = (services, p);
    e
}

/// The event mix, weights in tenths of a percent (they sum to about 1000).
const EVENTS: &[Ev] = &[
    ev("ec2", "DescribeInstances", 60, true),
    ev("ec2", "DescribeSecurityGroups", 25, true),
    ev("ec2", "DescribeVolumes", 18, true),
    ev("ec2", "DescribeSubnets", 12, true),
    ev("ec2", "DescribeVpcs", 8, true),
    ev("ec2", "DescribeNetworkInterfaces", 15, true),
    ev("ec2", "DescribeImages", 8, true),
    ev("ec2", "DescribeTags", 10, true),
    ev("ec2", "DescribeInstanceStatus", 20, true),
    svc(
        ev("sts", "AssumeRole", 75, true),
        &[
            "lambda.amazonaws.com",
            "ec2.amazonaws.com",
            "ecs-tasks.amazonaws.com",
        ],
        0.55,
    ),
    ev("sts", "GetCallerIdentity", 35, true),
    svc(
        ev("kms", "Decrypt", 80, true),
        &[
            "s3.amazonaws.com",
            "secretsmanager.amazonaws.com",
            "lambda.amazonaws.com",
        ],
        0.35,
    ),
    svc(
        ev("kms", "GenerateDataKey", 40, true),
        &["s3.amazonaws.com", "logs.amazonaws.com"],
        0.4,
    ),
    ev("s3", "GetObject", 35, true),
    ev("s3", "PutObject", 15, false),
    ev("s3", "ListBuckets", 8, true),
    ev("s3", "GetBucketAcl", 12, true),
    ev("s3", "GetBucketPolicy", 10, true),
    ev("s3", "GetBucketLocation", 10, true),
    ev("iam", "GetRole", 20, true),
    ev("iam", "ListRoles", 8, true),
    ev("iam", "GetPolicy", 8, true),
    ev("iam", "ListAttachedRolePolicies", 10, true),
    ev("lambda", "GetFunction20150331v2", 15, true),
    ev("lambda", "ListFunctions20150331", 8, true),
    ev("monitoring", "GetMetricData", 15, true),
    ev("monitoring", "DescribeAlarms", 18, true),
    ev("logs", "CreateLogStream", 35, false),
    ev("logs", "DescribeLogGroups", 18, true),
    ev("logs", "DescribeLogStreams", 15, true),
    ev("logs", "FilterLogEvents", 8, true),
    ev("rds", "DescribeDBInstances", 20, true),
    ev("rds", "ListTagsForResource", 10, true),
    ev("rds", "DescribeDBClusters", 8, true),
    ev("dynamodb", "DescribeTable", 18, true),
    ev("dynamodb", "ListTables", 15, true),
    ev("ssm", "GetParameter", 20, true),
    ev("ssm", "GetParameters", 10, true),
    ev("ssm", "UpdateInstanceInformation", 20, false),
    ev("secretsmanager", "GetSecretValue", 18, true),
    ev("ecr", "GetAuthorizationToken", 10, true),
    ev("ec2", "CreateTags", 6, false),
    ev("ec2", "RunInstances", 3, false),
    ev("ec2", "TerminateInstances", 2, false),
    ev("ec2", "AuthorizeSecurityGroupIngress", 3, false),
    ev("ec2", "RevokeSecurityGroupIngress", 1, false),
    svc(
        ev("ec2", "CreateNetworkInterface", 2, false),
        &["lambda.amazonaws.com"],
        0.0,
    ),
    ev("rds", "DeleteDBInstance", 1, false),
    ev("iam", "AttachRolePolicy", 1, false),
    ev("iam", "PutRolePolicy", 1, false),
    ev("iam", "CreateAccessKey", 1, false),
    ev("signin", "ConsoleLogin", 4, false),
    ev("lambda", "UpdateFunctionCode20150331v2", 1, false),
    ev("s3", "PutBucketPolicy", 1, false),
    svc(ev("kms", "CreateGrant", 3, false), &["ebs.amazonaws.com"], 0.0),
];

const BUCKETS: &[&str] = &[
    "acme-prod-assets",
    "acme-prod-uploads",
    "acme-data-lake-raw",
    "acme-data-lake-curated",
    "acme-terraform-state",
    "acme-cloudtrail-logs",
    "acme-backups-us-east-1",
    "acme-static-website",
];
const FUNCTIONS: &[&str] = &[
    "thumbnailer",
    "invoice-renderer",
    "order-events-consumer",
    "nightly-report",
    "auth-token-refresher",
    "s3-object-indexer",
];
const DATABASES: &[&str] = &[
    "prod-orders-db",
    "prod-users-db",
    "staging-orders-db",
    "analytics-replica",
];
const TABLES: &[&str] = &["orders", "sessions", "feature-flags", "rate-limits", "carts"];
const ROLES: &[&str] = &[
    "ssm-instance-role",
    "ecs-task-execution",
    "github-actions-deploy",
    "invoice-renderer-role",
    "thumbnailer-role",
    "data-pipeline",
];
const PARAMETERS: &[&str] = &[
    "/prod/orders/db-url",
    "/prod/orders/feature-flags",
    "/prod/shared/datadog-api-key",
    "/staging/orders/db-url",
    "/prod/auth/jwt-issuer",
];
const SECRETS: &[&str] = &[
    "prod/orders/db",
    "prod/users/db",
    "prod/stripe/api-key",
    "staging/orders/db",
];
const INSTANCE_TYPES: &[&str] = &["t3.medium", "m6i.large", "c6g.xlarge", "r6i.2xlarge", "t3.micro"];
const ZONES: &[&str] = &["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"];

const CLI: &str =
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-1016-aws exe/x86_64.ubuntu.22 prompt/off command/{cmd}";
const CLI_MAC: &str = "aws-cli/2.17.4 md/awscrt#0.20.11 ua/2.0 os/macos#23.5.0 md/arch#arm64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#standard md/installer#source md/prompt#off md/command#{cmd}";
const BOTO3: &str = "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.210-220.855.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.69";
const JAVA: &str = "aws-sdk-java/2.25.16 Linux/5.10.213-201.855.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy";
const GO: &str =
    "aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/{svc}#1.155.1";
const TERRAFORM: &str = "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.43.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/{svc}#1.155.1";
const NODE: &str = "aws-sdk-nodejs/2.1590.0 linux/v18.19.0 exec-env/AWS_Lambda_nodejs18.x promise";
const CONSOLE: &str = "AWS Internal";
const BROWSER: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15";
const CFN: &str = "cloudformation.amazonaws.com";

/// Generates records one at a time.
pub struct Generator {
    rng: Rng,
    id_base: u64,
    n: u64,
    /// Seconds between consecutive records.
    step: f64,
    principals: Vec<Principal>,
    principal_weights: Vec<u32>,
    event_weights: Vec<u32>,
    instances: Vec<String>,
    groups: Vec<String>,
    subnets: Vec<String>,
    vpcs: Vec<String>,
    volumes: Vec<String>,
    images: Vec<String>,
    keys: Vec<String>,
    /// S3 object keys: the same objects are read again and again.
    objects: Vec<String>,
    /// `botocore-session-N` names of role sessions.
    sessions: Vec<String>,
    /// The UTC day of every `eventTime`, `YYYY-MM-DD`.
    day: String,
    /// How varied the records are.
    pub variety: Variety,
    /// Calls come in bursts (a `terraform plan`, a console page, a job):
    /// the current burst's principal, service, and calls left in it.
    burst: (usize, &'static str, u64),
}

impl Generator {
    /// A generator whose records spread over one day if there are about
    /// `expected_records` of them (more stay at the day's last second);
    /// `day` is `YYYY-MM-DD`.
    pub fn new(seed: u64, expected_records: u64, day: &str) -> Self {
        let mut rng = Rng::new(seed);
        let ids = |rng: &mut Rng, prefix: &str, n: usize| -> Vec<String> {
            (0..n).map(|_| format!("{prefix}{}", rng.hex(17))).collect()
        };
        let instances = ids(&mut rng, "i-0", 60);
        let groups = ids(&mut rng, "sg-0", 20);
        let subnets = ids(&mut rng, "subnet-0", 8);
        let vpcs = ids(&mut rng, "vpc-0", 3);
        let volumes = ids(&mut rng, "vol-0", 40);
        let images = ids(&mut rng, "ami-0", 5);
        let keys = (0..8).map(|_| rng.uuid()).collect();
        let objects = (0..400)
            .map(|_| {
                format!(
                    "{}/{}/{}.{}",
                    rng.pick_str(&[
                        "uploads",
                        "exports/daily",
                        "raw/events",
                        "thumbnails/320x240",
                        "invoices"
                    ]),
                    day.replace('-', "/"),
                    rng.hex(16),
                    rng.pick_str(&["json", "parquet", "png", "pdf", "csv.gz"])
                )
            })
            .collect();
        let sessions = (0..50)
            .map(|_| format!("botocore-session-{}", rng.range(1_795_600_000, 1_795_690_000)))
            .collect();
        let principals = principals(&mut rng, day);
        Generator {
            id_base: rng.next_u64(),
            principal_weights: principals.iter().map(|p| p.weight).collect(),
            event_weights: EVENTS.iter().map(|e| e.weight).collect(),
            rng,
            n: 0,
            step: 86_400.0 / expected_records.max(1) as f64,
            principals,
            instances,
            groups,
            subnets,
            vpcs,
            volumes,
            images,
            keys,
            objects,
            sessions,
            burst: (0, "", 0),
            day: day.to_string(),
            variety: Variety::Typical,
        }
    }

    /// Records generated so far.
    pub fn records(&self) -> u64 {
        self.n
    }

    fn time(&self) -> String {
        let secs = ((self.n as f64 * self.step) as u64).min(86_399);
        format!(
            "{}T{:02}:{:02}:{:02}Z",
            self.day,
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }

    /// A unique UUID-shaped ID: `mix` is a bijection, so distinct record
    /// numbers give distinct high halves.
    fn unique_id(&mut self) -> String {
        uuid_of(mix(self.id_base.wrapping_add(self.n)), self.rng.next_u64())
    }

    fn pick(&mut self, items: &[String]) -> String {
        self.rng.pick(items).cloned().unwrap_or_default()
    }

    /// Appends one record's compact JSON to `out`; what it holds that no
    /// template indexes as it is.
    pub fn next_record(&mut self, out: &mut Vec<u8>) -> Odd {
        let mut e = &EVENTS[self.rng.weighted(&self.event_weights)];
        if self.burst.2 > 0 && self.rng.chance(0.6) {
            // Within a burst, calls mostly stay with one service.
            for _ in 0..20 {
                if e.src == self.burst.1 {
                    break;
                }
                e = &EVENTS[self.rng.weighted(&self.event_weights)];
            }
        }
        let time = self.time();
        let event_id = self.unique_id();
        let request_id = if e.src == "s3" {
            self.rng.upper(16)
        } else {
            self.rng.uuid()
        };
        let (services, p_service) = e.by_service;
        let service = if !services.is_empty() && self.rng.chance(p_service) {
            Some(self.rng.pick_str(services))
        } else {
            None
        };
        let principal = match service {
            Some(_) => None,
            None if self.burst.2 > 0 && e.name != "ConsoleLogin" => {
                self.burst.2 -= 1;
                Some(self.burst.0)
            }
            None => {
                let i = self.choose_principal(e);
                self.burst = (i, e.src, self.rng.below(40));
                Some(i)
            }
        };
        let (identity, ip, agent, console) = match (service, principal) {
            (Some(s), _) => (
                J::Raw(Rc::from(format!(
                    "{{\"type\":\"AWSService\",\"invokedBy\":\"{s}\"}}"
                ))),
                s.to_string(),
                s.to_string(),
                false,
            ),
            (None, Some(i)) => {
                let p = &self.principals[i];
                let ip = self.rng.pick(&p.ips).cloned().unwrap_or_default();
                // Each principal mostly uses one tool.
                let template = if self.rng.chance(0.85) {
                    p.agents.first().copied().unwrap_or("")
                } else {
                    self.rng.pick_str(&p.agents)
                };
                let agent = if e.name == "ConsoleLogin" {
                    BROWSER.to_string()
                } else {
                    template.replace("{cmd}", &cli_command(e)).replace("{svc}", e.src)
                };
                (J::Raw(p.identity.clone()), ip, agent, p.console)
            }
            (None, None) => (J::Null, String::new(), String::new(), false),
        };
        let actor = principal.map_or_else(String::new, |i| self.principals[i].arn.clone());
        let failed = self.rng.chance(ERROR_RATE);
        let shape = self.shape(e, failed);
        let data_event = matches!(e.name, "GetObject" | "PutObject");
        let console_login = e.name == "ConsoleLogin";

        let mut fields: Vec<(&'static str, J)> = Vec::with_capacity(26);
        fields.push(("eventVersion", J::L(if data_event { "1.10" } else { "1.09" })));
        fields.push(("userIdentity", identity));
        fields.push(("eventTime", J::S(time)));
        fields.push(("eventSource", J::S(format!("{}.amazonaws.com", e.src))));
        fields.push(("eventName", J::L(e.name)));
        fields.push(("awsRegion", J::L(REGION)));
        fields.push(("sourceIPAddress", J::S(ip)));
        fields.push(("userAgent", J::S(agent)));
        if failed && !console_login {
            let (code, message) = self.error(e, &actor);
            fields.push(("errorCode", J::L(code)));
            fields.push(("errorMessage", J::S(message)));
        } else if failed {
            fields.push(("errorMessage", J::L("Failed authentication")));
        }
        fields.push(("requestParameters", shape.request));
        fields.push((
            "responseElements",
            if failed && !console_login {
                J::Null
            } else if console_login {
                obj! {"ConsoleLogin" => if failed { "Failure" } else { "Success" }}
            } else {
                shape.response
            },
        ));
        if let Some(extra) = shape.additional {
            fields.push(("additionalEventData", extra));
        }
        fields.push(("requestID", J::S(request_id)));
        fields.push(("eventID", J::S(event_id)));
        fields.push(("readOnly", J::B(e.read_only)));
        if let Some(resources) = shape.resources {
            fields.push(("resources", resources));
        }
        fields.push((
            "eventType",
            J::L(if console_login {
                "AwsConsoleSignIn"
            } else {
                "AwsApiCall"
            }),
        ));
        if e.src == "lambda" {
            fields.push(("apiVersion", J::L("2015-03-31")));
        }
        fields.push(("managementEvent", J::B(!data_event)));
        fields.push(("recipientAccountId", J::L(ACCOUNT)));
        if service.is_some() && self.rng.chance(0.3) {
            fields.push(("sharedEventID", J::S(self.rng.uuid())));
        }
        fields.push((
            "eventCategory",
            J::L(if data_event { "Data" } else { "Management" }),
        ));
        if service.is_none() {
            let host = match e.src {
                "s3" => format!("{}.s3.{REGION}.amazonaws.com", self.rng.pick_str(BUCKETS)),
                "signin" => "signin.aws.amazon.com".to_string(),
                "monitoring" => format!("monitoring.{REGION}.amazonaws.com"),
                src => format!("{src}.{REGION}.amazonaws.com"),
            };
            let (version, cipher) = if self.rng.chance(0.7) {
                ("TLSv1.3", "TLS_AES_128_GCM_SHA256")
            } else {
                ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256")
            };
            fields.push((
                "tlsDetails",
                obj! {"tlsVersion" => version, "cipherSuite" => cipher, "clientProvidedHostHeader" => host},
            ));
        }
        if console && !console_login {
            fields.push(("sessionCredentialFromConsole", J::L("true")));
        }
        let odd = match self.variety {
            Variety::Real => roughen(&mut self.rng, ACCOUNT, &mut fields),
            Variety::Typical => Odd::default(),
        };
        J::O(fields).write(out);
        self.n += 1;
        odd
    }

    fn choose_principal(&mut self, e: &Ev) -> usize {
        // Sign-ins are people; everything else follows the usual mix.
        loop {
            let i = self.rng.weighted(&self.principal_weights);
            let class = self.principals[i].class;
            if e.name != "ConsoleLogin" || class != Class::Automation {
                return i;
            }
        }
    }

    fn error(&mut self, e: &Ev, actor: &str) -> (&'static str, String) {
        let action = format!(
            "{}:{}",
            e.src,
            e.name.trim_end_matches("20150331v2").trim_end_matches("20150331")
        );
        match (self.rng.below(100), e.src) {
            (0..=44, "ec2") => (
                "Client.UnauthorizedOperation",
                format!(
                    "You are not authorized to perform this operation. User: {actor} is not authorized to perform: {action} because no identity-based policy allows the {action} action. Encoded authorization failure message: {}",
                    self.rng.b64(96)
                ),
            ),
            (0..=44, "s3") => ("AccessDenied", "Access Denied".to_string()),
            (0..=44, _) => (
                "AccessDenied",
                format!("User: {actor} is not authorized to perform: {action} because no identity-based policy allows the {action} action"),
            ),
            (45..=69, _) => ("ThrottlingException", "Rate exceeded".to_string()),
            (_, "ec2") => (
                "Client.InvalidInstanceID.NotFound",
                format!("The instance ID '{}' does not exist", self.pick(&self.instances.clone())),
            ),
            (_, "iam") => (
                "NoSuchEntityException",
                format!("The role with name {} cannot be found.", self.rng.pick_str(ROLES)),
            ),
            (_, "s3") => ("NoSuchBucketPolicy", "The bucket policy does not exist".to_string()),
            (_, "logs") => ("ResourceNotFoundException", "The specified log group does not exist.".to_string()),
            (_, "lambda") => (
                "ResourceNotFoundException",
                format!("Function not found: arn:aws:lambda:{REGION}:{ACCOUNT}:function:{}", self.rng.pick_str(FUNCTIONS)),
            ),
            (_, "kms") => ("InvalidCiphertextException", "An error occurred (InvalidCiphertextException)".to_string()),
            (_, "ssm") => ("ParameterNotFound", String::new()),
            _ => ("ResourceNotFoundException", "Requested resource not found".to_string()),
        }
    }

    /// `requestParameters`, `responseElements` and friends for one event.
    fn shape(&mut self, e: &Ev, failed: bool) -> Shape {
        let mut shape = Shape::default();
        let rng = &mut self.rng;
        match e.name {
            "DescribeInstances" => {
                let ids: Vec<J> = (0..rng.range(0, 3))
                    .map(|_| obj! {"instanceId" => rng.pick(&self.instances).cloned().unwrap_or_default()})
                    .collect();
                shape.request = if ids.is_empty() {
                    obj! {"instancesSet" => obj! {}, "filterSet" => obj! {"items" => J::A(vec![obj! {
                    "name" => "instance-state-name",
                    "valueSet" => obj! {"items" => J::A(vec![obj! {"value" => "running"}])}}])}}
                } else {
                    obj! {"instancesSet" => obj! {"items" => J::A(ids)}, "filterSet" => obj! {}}
                };
            }
            "DescribeSecurityGroups" => {
                let ids: Vec<J> = (0..rng.range(1, 3))
                    .map(|_| obj! {"groupId" => rng.pick(&self.groups).cloned().unwrap_or_default()})
                    .collect();
                shape.request = obj! {"securityGroupSet" => obj! {"items" => J::A(ids)},
                "securityGroupIdSet" => obj! {}, "filterSet" => obj! {}};
            }
            "DescribeVolumes" => {
                shape.request = obj! {"volumeSet" => obj! {}, "filterSet" => obj! {"items" => J::A(vec![obj! {
                "name" => "attachment.instance-id",
                "valueSet" => obj! {"items" => J::A(vec![obj! {"value" => rng.pick(&self.instances).cloned().unwrap_or_default()}])}}])}};
            }
            "DescribeSubnets" | "DescribeVpcs" | "DescribeNetworkInterfaces" => {
                let vpc = rng.pick(&self.vpcs).cloned().unwrap_or_default();
                shape.request = obj! {"filterSet" => obj! {"items" => J::A(vec![obj! {
                "name" => "vpc-id", "valueSet" => obj! {"items" => J::A(vec![obj! {"value" => vpc}])}}])}};
            }
            "DescribeImages" => {
                shape.request = obj! {"executableBySet" => obj! {}, "imagesSet" => obj! {"items" => J::A(vec![
                    obj! {"imageId" => rng.pick(&self.images).cloned().unwrap_or_default()}])},
                "ownersSet" => obj! {}, "includeDeprecated" => false};
            }
            "DescribeTags" => {
                shape.request = obj! {"filterSet" => obj! {"items" => J::A(vec![obj! {"name" => "resource-id",
                "valueSet" => obj! {"items" => J::A(vec![obj! {"value" => rng.pick(&self.instances).cloned().unwrap_or_default()}])}}])}};
            }
            "DescribeInstanceStatus" => {
                shape.request = obj! {"instancesSet" => obj! {}, "filterSet" => obj! {}, "includeAllInstances" => rng.chance(0.5)};
            }
            "AssumeRole" => {
                let role = rng.pick_str(ROLES);
                let session = if rng.chance(0.5) {
                    rng.pick(&self.instances).cloned().unwrap_or_default()
                } else {
                    rng.pick(&self.sessions).cloned().unwrap_or_default()
                };
                let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/{role}");
                shape.request = obj! {"roleArn" => role_arn.clone(), "roleSessionName" => session.clone(), "durationSeconds" => 3600i64};
                let role_id = format!("AROA{}", rng.upper(17));
                shape.response = obj! {
                    "credentials" => obj! {"accessKeyId" => format!("ASIA{}", rng.upper(16)),
                        "sessionToken" => format!("IQoJb3JpZ2luX2VjE{}", rng.b64(100)),
                        "expiration" => "Nov 20, 2026, 11:45:12 PM"},
                    "assumedRoleUser" => obj! {"assumedRoleId" => format!("{role_id}:{session}"),
                        "arn" => format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}")},
                };
                shape.resources = Some(J::A(vec![
                    obj! {"accountId" => ACCOUNT, "type" => "AWS::IAM::Role", "ARN" => role_arn},
                ]));
            }
            "GetCallerIdentity" | "ListBuckets" | "GetAuthorizationToken" | "ListTables" | "ListRoles" => {
                shape.request = J::Null;
                if e.name == "GetAuthorizationToken" {
                    shape.request = obj! {"registryIds" => J::A(vec![J::L(ACCOUNT)])};
                }
            }
            "Decrypt" | "GenerateDataKey" => {
                let key = rng.pick(&self.keys).cloned().unwrap_or_default();
                let key_arn = format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{key}");
                let context = match rng.below(3) {
                    0 => {
                        obj! {"aws:s3:arn" => format!("arn:aws:s3:::{}/{}", rng.pick_str(BUCKETS), rng.pick(&self.objects).map_or("", |k| k.as_str()))}
                    }
                    1 => {
                        obj! {"aws:lambda:FunctionArn" => format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{}", rng.pick_str(FUNCTIONS))}
                    }
                    _ => obj! {"SecretARN" => secret_arn(rng.pick_str(SECRETS)),
                    "SecretVersionId" => rng.uuid()},
                };
                shape.request = if e.name == "Decrypt" {
                    obj! {"encryptionContext" => context, "encryptionAlgorithm" => "SYMMETRIC_DEFAULT"}
                } else {
                    obj! {"keyId" => key_arn.clone(), "encryptionContext" => context, "keySpec" => "AES_256"}
                };
                shape.resources = Some(J::A(vec![
                    obj! {"accountId" => ACCOUNT, "type" => "AWS::KMS::Key", "ARN" => key_arn},
                ]));
            }
            "GetObject" | "PutObject" => {
                let bucket = rng.pick_str(BUCKETS);
                let key = rng.pick(&self.objects).cloned().unwrap_or_default();
                shape.request = obj! {"bucketName" => bucket, "Host" => format!("{bucket}.s3.{REGION}.amazonaws.com"), "key" => key.clone()};
                if e.name == "PutObject" {
                    shape.response = obj! {"x-amz-server-side-encryption" => "aws:kms",
                    "x-amz-server-side-encryption-aws-kms-key-id" => format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{}", rng.pick(&self.keys).cloned().unwrap_or_default()),
                    "x-amz-version-id" => rng.b64(32)};
                }
                let (inn, out) = if e.name == "PutObject" {
                    (rng.range(200, 5_000_000) as i64, 0)
                } else {
                    (0, rng.range(200, 5_000_000) as i64)
                };
                shape.additional = Some(
                    obj! {"SignatureVersion" => "SigV4", "CipherSuite" => "TLS_AES_128_GCM_SHA256",
                    "bytesTransferredIn" => inn, "AuthenticationMethod" => "AuthHeader",
                    "x-amz-id-2" => rng.b64(76), "bytesTransferredOut" => out},
                );
                shape.resources = Some(J::A(vec![
                    obj! {"type" => "AWS::S3::Object", "ARN" => format!("arn:aws:s3:::{bucket}/{key}")},
                    obj! {"accountId" => ACCOUNT, "type" => "AWS::S3::Bucket", "ARN" => format!("arn:aws:s3:::{bucket}")},
                ]));
            }
            "GetBucketAcl" | "GetBucketPolicy" | "GetBucketLocation" => {
                let bucket = rng.pick_str(BUCKETS);
                let param = match e.name {
                    "GetBucketAcl" => "acl",
                    "GetBucketPolicy" => "policy",
                    _ => "location",
                };
                shape.request = obj! {"bucketName" => bucket, "Host" => format!("{bucket}.s3.amazonaws.com"), param => ""};
                shape.additional = Some(
                    obj! {"SignatureVersion" => "SigV4", "CipherSuite" => "TLS_AES_128_GCM_SHA256",
                    "bytesTransferredIn" => 0i64, "AuthenticationMethod" => "AuthHeader", "x-amz-id-2" => rng.b64(76),
                    "bytesTransferredOut" => rng.range(100, 2000) as i64},
                );
                shape.resources = Some(J::A(vec![
                    obj! {"accountId" => ACCOUNT, "type" => "AWS::S3::Bucket", "ARN" => format!("arn:aws:s3:::{bucket}")},
                ]));
            }
            "GetRole" | "ListAttachedRolePolicies" => {
                shape.request = obj! {"roleName" => rng.pick_str(ROLES)};
            }
            "GetPolicy" => {
                shape.request = obj! {"policyArn" => format!("arn:aws:iam::{ACCOUNT}:policy/{}", rng.pick_str(&["ci-deploy", "read-only-extra", "s3-uploads-rw", "kms-decrypt"]))};
            }
            "GetFunction20150331v2" | "UpdateFunctionCode20150331v2" => {
                let f = rng.pick_str(FUNCTIONS);
                shape.request = obj! {"functionName" => f};
                if e.name.starts_with("Update") {
                    shape.request = obj! {"functionName" => f, "s3Bucket" => "acme-prod-assets",
                    "s3Key" => format!("lambda/{f}/{}.zip", rng.hex(12)), "publish" => true, "dryRun" => false};
                    shape.response = obj! {"functionName" => f,
                    "functionArn" => format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{f}"),
                    "runtime" => "python3.12", "role" => format!("arn:aws:iam::{ACCOUNT}:role/{f}-role"),
                    "handler" => "app.handler", "codeSize" => rng.range(10_000, 9_000_000) as i64,
                    "timeout" => 30i64, "memorySize" => 512i64, "codeSha256" => rng.b64(44),
                    "version" => rng.range(1, 90).to_string(), "state" => "Active", "lastUpdateStatus" => "InProgress",
                    "architectures" => J::A(vec![J::L("arm64")])};
                }
            }
            "ListFunctions20150331" => {
                shape.request = obj! {"maxItems" => 50i64};
            }
            "GetMetricData" => {
                let queries: Vec<J> = (0..rng.range(1, 4))
                    .map(|i| {
                        obj! {"id" => format!("m{i}"), "metricStat" => obj! {
                            "metric" => obj! {"namespace" => rng.pick_str(&["AWS/EC2", "AWS/Lambda", "AWS/RDS", "AWS/ApplicationELB"]),
                                "metricName" => rng.pick_str(&["CPUUtilization", "Invocations", "Errors", "Duration", "DatabaseConnections"]),
                                "dimensions" => J::A(vec![obj! {"name" => "InstanceId", "value" => rng.pick(&self.instances).cloned().unwrap_or_default()}])},
                            "period" => 300i64, "stat" => "Average"}, "returnData" => true}
                    })
                    .collect();
                shape.request = obj! {"metricDataQueries" => J::A(queries), "startTime" => "Nov 20, 2026, 9:00:00 AM",
                "endTime" => "Nov 20, 2026, 12:00:00 PM"};
            }
            "DescribeAlarms" => {
                shape.request = obj! {"maxRecords" => 100i64, "alarmTypes" => J::A(vec![J::L("CompositeAlarm"), J::L("MetricAlarm")])};
            }
            "CreateLogStream" | "DescribeLogStreams" | "FilterLogEvents" => {
                let group = format!("/aws/lambda/{}", rng.pick_str(FUNCTIONS));
                shape.request = match e.name {
                    "CreateLogStream" => obj! {"logGroupName" => group,
                    "logStreamName" => format!("2026/11/20/[$LATEST]{}", rng.hex(32))},
                    "DescribeLogStreams" => obj! {"logGroupName" => group, "orderBy" => "LastEventTime",
                    "descending" => true, "limit" => 50i64},
                    _ => obj! {"logGroupName" => group, "startTime" => 1_795_600_000_000i64,
                    "filterPattern" => rng.pick_str(&["ERROR", "\"Task timed out\"", "{ $.level = \"error\" }"]),
                    "interleaved" => true},
                };
            }
            "DescribeLogGroups" => {
                shape.request =
                    obj! {"logGroupNamePrefix" => format!("/aws/lambda/{}", rng.pick_str(FUNCTIONS))};
            }
            "DescribeDBInstances" | "DescribeDBClusters" | "ListTagsForResource" => {
                let db = rng.pick_str(DATABASES);
                shape.request = match e.name {
                    "DescribeDBInstances" => obj! {"dBInstanceIdentifier" => db},
                    "DescribeDBClusters" => obj! {"includeShared" => false},
                    _ => obj! {"resourceName" => format!("arn:aws:rds:{REGION}:{ACCOUNT}:db:{db}")},
                };
            }
            "DescribeTable" => {
                shape.request = obj! {"tableName" => rng.pick_str(TABLES)};
                shape.resources = Some(J::A(vec![
                    obj! {"accountId" => ACCOUNT, "type" => "AWS::DynamoDB::Table",
                    "ARN" => format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{}", rng.pick_str(TABLES))},
                ]));
            }
            "GetParameter" | "GetParameters" => {
                let p = rng.pick_str(PARAMETERS);
                shape.request = if e.name == "GetParameter" {
                    obj! {"name" => p, "withDecryption" => true}
                } else {
                    obj! {"names" => J::A(vec![J::L(p), J::L(rng.pick_str(PARAMETERS))]), "withDecryption" => rng.chance(0.5)}
                };
            }
            "UpdateInstanceInformation" => {
                shape.request = obj! {"instanceId" => rng.pick(&self.instances).cloned().unwrap_or_default(),
                "agentVersion" => "3.3.40.0", "agentStatus" => "Active", "platformType" => "Linux",
                "platformName" => "Amazon Linux", "platformVersion" => "2023", "iPAddress" => format!("10.0.{}.{}", rng.below(16), rng.range(4, 250)),
                "computerName" => format!("ip-10-0-{}-{}.ec2.internal", rng.below(16), rng.range(4, 250)),
                "agentName" => "amazon-ssm-agent", "availabilityZone" => rng.pick_str(ZONES), "availabilityZoneId" => "use1-az4"};
            }
            "GetSecretValue" => {
                shape.request = obj! {"secretId" => secret_arn(rng.pick_str(SECRETS))};
            }
            "CreateTags" => {
                shape.request = obj! {"resourcesSet" => obj! {"items" => J::A(vec![obj! {"resourceId" => rng.pick(&self.instances).cloned().unwrap_or_default()}])},
                "tagSet" => obj! {"items" => J::A(vec![obj! {"key" => "Owner", "value" => rng.pick_str(&["alice", "bob", "platform"])},
                    obj! {"key" => "CostCenter", "value" => rng.range(1000, 1010).to_string()}])}};
                shape.response = obj! {"requestId" => rng.uuid(), "_return" => true};
            }
            "RunInstances" => shape_run_instances(self, &mut shape),
            "TerminateInstances" => {
                let id = self.pick(&self.instances.clone());
                shape.request =
                    obj! {"instancesSet" => obj! {"items" => J::A(vec![obj! {"instanceId" => id.clone()}])}};
                shape.response = obj! {"requestId" => self.rng.uuid(), "instancesSet" => obj! {"items" => J::A(vec![obj! {
                "instanceId" => id, "currentState" => obj! {"code" => 32i64, "name" => "shutting-down"},
                "previousState" => obj! {"code" => 16i64, "name" => "running"}}])}};
            }
            "AuthorizeSecurityGroupIngress" | "RevokeSecurityGroupIngress" => {
                let group = rng.pick(&self.groups).cloned().unwrap_or_default();
                let port = *rng.pick(&[22i64, 443, 3306, 5432, 8080]).unwrap_or(&443);
                let cidr = if rng.chance(0.2) {
                    "0.0.0.0/0".to_string()
                } else {
                    format!("203.0.113.{}/32", rng.below(256))
                };
                shape.request = obj! {"groupId" => group.clone(), "ipPermissions" => obj! {"items" => J::A(vec![obj! {
                "ipProtocol" => "tcp", "fromPort" => port, "toPort" => port, "groups" => obj! {},
                "ipRanges" => obj! {"items" => J::A(vec![obj! {"cidrIp" => cidr.clone(), "description" => "temporary access"}])},
                "ipv6Ranges" => obj! {}, "prefixListIds" => obj! {}}])}};
                shape.response = obj! {"requestId" => rng.uuid(), "_return" => true,
                "securityGroupRuleSet" => obj! {"items" => J::A(vec![obj! {"groupOwnerId" => ACCOUNT,
                    "groupId" => group, "securityGroupRuleId" => format!("sgr-0{}", rng.hex(17)), "isEgress" => false,
                    "ipProtocol" => "tcp", "fromPort" => port, "toPort" => port, "cidrIpv4" => cidr,
                    "description" => "temporary access"}])}};
            }
            "CreateNetworkInterface" => {
                let subnet = rng.pick(&self.subnets).cloned().unwrap_or_default();
                shape.request = obj! {"subnetId" => subnet.clone(), "description" => format!("AWS Lambda VPC ENI-{}-{}", rng.pick_str(FUNCTIONS), rng.uuid()),
                "groupSet" => obj! {"items" => J::A(vec![obj! {"groupId" => rng.pick(&self.groups).cloned().unwrap_or_default()}])}};
                shape.response = obj! {"requestId" => rng.uuid(), "networkInterface" => obj! {
                "networkInterfaceId" => format!("eni-0{}", rng.hex(17)), "subnetId" => subnet,
                "vpcId" => rng.pick(&self.vpcs).cloned().unwrap_or_default(), "availabilityZone" => rng.pick_str(ZONES),
                "ownerId" => ACCOUNT, "requesterId" => "AROAEXAMPLELAMBDAROLE:lambda", "requesterManaged" => true,
                "status" => "pending", "macAddress" => "0e:12:34:56:78:9a",
                "privateIpAddress" => format!("10.0.{}.{}", rng.below(16), rng.range(4, 250)),
                "sourceDestCheck" => true, "interfaceType" => "lambda", "tagSet" => obj! {}}};
            }
            "DeleteDBInstance" => {
                let db = rng.pick_str(DATABASES);
                shape.request = obj! {"dBInstanceIdentifier" => db, "skipFinalSnapshot" => false,
                "finalDBSnapshotIdentifier" => format!("{db}-final-2026-11-20"), "deleteAutomatedBackups" => false};
                shape.response = obj! {"dBInstanceIdentifier" => db, "dBInstanceClass" => "db.r6g.large", "engine" => "postgres",
                "dBInstanceStatus" => "deleting", "endpoint" => obj! {"address" => format!("{db}.c9akciq32.{REGION}.rds.amazonaws.com"),
                    "port" => 5432i64, "hostedZoneId" => "Z2R2ITUGPM61AM"},
                "allocatedStorage" => 200i64, "multiAZ" => true, "engineVersion" => "15.5",
                "dBInstanceArn" => format!("arn:aws:rds:{REGION}:{ACCOUNT}:db:{db}"), "deletionProtection" => false};
            }
            "AttachRolePolicy" | "PutRolePolicy" => {
                let role = rng.pick_str(ROLES);
                shape.request = if e.name == "AttachRolePolicy" {
                    obj! {"roleName" => role, "policyArn" => "arn:aws:iam::aws:policy/AdministratorAccess"}
                } else {
                    obj! {"roleName" => role, "policyName" => "inline-s3",
                    "policyDocument" => "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}]}"}
                };
            }
            "CreateAccessKey" => {
                let user = rng.pick_str(&["ci-runner", "backup-operator", "legacy-app"]);
                shape.request = obj! {"userName" => user};
                shape.response = obj! {"accessKey" => obj! {"userName" => user, "accessKeyId" => format!("AKIA{}", rng.upper(16)),
                "status" => "Active", "createDate" => "Nov 20, 2026, 10:11:12 AM"}};
            }
            "ConsoleLogin" => {
                shape.request = J::Null;
                shape.additional = Some(
                    obj! {"LoginTo" => "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true",
                    "MobileVersion" => "No", "MFAIdentifier" => format!("arn:aws:iam::{ACCOUNT}:mfa/{}", rng.pick_str(&["alice", "bob"])),
                    "MFAUsed" => if rng.chance(0.9) { "Yes" } else { "No" }},
                );
            }
            "PutBucketPolicy" => {
                let bucket = rng.pick_str(BUCKETS);
                shape.request = obj! {"bucketName" => bucket, "Host" => format!("{bucket}.s3.amazonaws.com"), "policy" => "",
                "bucketPolicy" => obj! {"Version" => "2012-10-17", "Statement" => J::A(vec![obj! {"Sid" => "DenyInsecure",
                    "Effect" => "Deny", "Principal" => "*", "Action" => "s3:*",
                    "Resource" => J::A(vec![J::S(format!("arn:aws:s3:::{bucket}")), J::S(format!("arn:aws:s3:::{bucket}/*"))]),
                    "Condition" => obj! {"Bool" => obj! {"aws:SecureTransport" => "false"}}}])}};
            }
            "CreateGrant" => {
                let key = rng.pick(&self.keys).cloned().unwrap_or_default();
                shape.request = obj! {"keyId" => format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{key}"),
                "granteePrincipal" => "ebs.amazonaws.com", "operations" => J::A(vec![J::L("Decrypt"), J::L("Encrypt"), J::L("GenerateDataKeyWithoutPlaintext")]),
                "constraints" => obj! {"encryptionContextSubset" => obj! {"aws:ebs:id" => rng.pick(&self.volumes).cloned().unwrap_or_default()}}};
                shape.response = obj! {"grantId" => rng.hex(64)};
            }
            _ => {}
        }
        if failed {
            // Failed calls keep their request; responses are dropped by the caller.
            shape.response = J::Null;
        }
        shape
    }
}

/// What an event carries besides the common fields.
struct Shape {
    request: J,
    response: J,
    resources: Option<J>,
    additional: Option<J>,
}

impl Default for Shape {
    fn default() -> Self {
        Shape {
            request: J::Null,
            response: J::Null,
            resources: None,
            additional: None,
        }
    }
}

fn shape_run_instances(g: &mut Generator, shape: &mut Shape) {
    let rng = &mut g.rng;
    let image = rng.pick(&g.images).cloned().unwrap_or_default();
    let subnet = rng.pick(&g.subnets).cloned().unwrap_or_default();
    let group = rng.pick(&g.groups).cloned().unwrap_or_default();
    let itype = rng.pick_str(INSTANCE_TYPES);
    let zone = rng.pick_str(ZONES);
    let name = format!(
        "{}-{}",
        rng.pick_str(&["web", "worker", "batch", "bastion"]),
        rng.below(40)
    );
    shape.request = obj! {
        "instancesSet" => obj! {"items" => J::A(vec![obj! {"imageId" => image.clone(), "minCount" => 1i64, "maxCount" => 1i64}])},
        "instanceType" => itype, "blockDeviceMapping" => obj! {}, "monitoring" => obj! {"enabled" => false},
        "subnetId" => subnet.clone(), "disableApiTermination" => false, "disableApiStop" => false,
        "clientToken" => rng.uuid(),
        "tagSpecificationSet" => obj! {"items" => J::A(vec![obj! {"resourceType" => "instance",
            "tags" => J::A(vec![obj! {"key" => "Name", "value" => name.clone()}])}])},
        "metadataOptions" => obj! {"httpTokens" => "required", "httpPutResponseHopLimit" => 2i64},
    };
    let instance = format!("i-0{}", rng.hex(17));
    let ip = format!("10.0.{}.{}", rng.below(16), rng.range(4, 250));
    shape.response = obj! {
        "requestId" => rng.uuid(), "reservationId" => format!("r-0{}", rng.hex(17)), "ownerId" => ACCOUNT,
        "groupSet" => obj! {},
        "instancesSet" => obj! {"items" => J::A(vec![obj! {
            "instanceId" => instance.clone(), "imageId" => image, "currentInstanceBootMode" => "legacy-bios",
            "instanceState" => obj! {"code" => 0i64, "name" => "pending"},
            "privateDnsName" => format!("ip-{}.ec2.internal", ip.replace('.', "-")),
            "amiLaunchIndex" => 0i64, "productCodes" => obj! {}, "instanceType" => itype,
            "launchTime" => 1_795_651_200_000i64 + rng.below(86_400_000) as i64,
            "placement" => obj! {"availabilityZone" => zone, "tenancy" => "default"},
            "monitoring" => obj! {"state" => "disabled"}, "subnetId" => subnet.clone(),
            "vpcId" => rng.pick(&g.vpcs).cloned().unwrap_or_default(), "privateIpAddress" => ip.clone(),
            "stateReason" => obj! {"code" => "pending", "message" => "pending"}, "architecture" => "x86_64",
            "rootDeviceType" => "ebs", "rootDeviceName" => "/dev/xvda", "blockDeviceMapping" => obj! {},
            "virtualizationType" => "hvm", "hypervisor" => "xen",
            "tagSet" => obj! {"items" => J::A(vec![obj! {"key" => "Name", "value" => name}])},
            "groupSet" => obj! {"items" => J::A(vec![obj! {"groupId" => group.clone(), "groupName" => "default"}])},
            "sourceDestCheck" => true,
            "networkInterfaceSet" => obj! {"items" => J::A(vec![obj! {
                "networkInterfaceId" => format!("eni-0{}", rng.hex(17)), "subnetId" => subnet,
                "ownerId" => ACCOUNT, "status" => "in-use", "privateIpAddress" => ip,
                "groupSet" => obj! {"items" => J::A(vec![obj! {"groupId" => group, "groupName" => "default"}])},
                "interfaceType" => "interface"}])},
            "ebsOptimized" => false, "enaSupport" => true,
            "metadataOptions" => obj! {"state" => "pending", "httpTokens" => "required", "httpPutResponseHopLimit" => 2i64,
                "httpEndpoint" => "enabled"},
        }])},
    };
    shape.resources = Some(J::A(vec![
        obj! {"accountId" => ACCOUNT, "type" => "AWS::EC2::Instance", "ARN" => format!("arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{instance}")},
    ]));
}

/// A secret's ARN, with the fixed random suffix Secrets Manager gives it.
fn secret_arn(name: &str) -> String {
    let mut rng = Rng::new(name.len() as u64 * 31 + name.bytes().map(u64::from).sum::<u64>());
    format!(
        "arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-{}",
        rng.token(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", 6)
    )
}

/// The AWS CLI's `command/` token: `ec2.describe-instances`.
fn cli_command(e: &Ev) -> String {
    let mut cmd = String::with_capacity(32);
    cmd.push_str(e.src);
    cmd.push('.');
    let name = e.name.trim_end_matches("20150331v2").trim_end_matches("20150331");
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                cmd.push('-');
            }
            cmd.push(c.to_ascii_lowercase());
        } else {
            cmd.push(c);
        }
    }
    cmd
}

fn public_ips(rng: &mut Rng, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| match rng.below(10) {
            0..=5 => format!(
                "{}.{}.{}.{}",
                rng.pick(&[3u64, 18, 34, 52, 54, 81, 198, 203])
                    .copied()
                    .unwrap_or(3),
                rng.below(256),
                rng.below(256),
                rng.range(1, 254)
            ),
            6..=7 => format!(
                "2001:db8:{:x}:{:x}::{:x}",
                rng.below(0xffff),
                rng.below(0xffff),
                rng.range(1, 0xffff)
            ),
            _ => format!("10.{}.{}.{}", rng.below(32), rng.below(256), rng.range(4, 250)),
        })
        .collect()
}

/// The account's principals, with weights that make automation dominate.
fn principals(rng: &mut Rng, day: &str) -> Vec<Principal> {
    let mut out = Vec::new();
    let users: &[(&str, u32, &[&'static str], bool)] = &[
        ("alice", 30, &[CONSOLE, CLI_MAC], true),
        ("bob", 20, &[CLI, CLI_MAC], false),
        ("terraform-ci", 80, &[TERRAFORM], false),
        ("backup-operator", 25, &[JAVA], false),
        ("ci-runner", 50, &[CLI, GO], false),
        ("monitoring-ro", 90, &[GO, BOTO3], false),
        ("legacy-app", 20, &[JAVA, NODE], false),
    ];
    for &(name, weight, agents, console) in users {
        let identity = obj! {"type" => "IAMUser", "principalId" => format!("AIDA{}", rng.upper(17)),
        "arn" => format!("arn:aws:iam::{ACCOUNT}:user/{name}"), "accountId" => ACCOUNT,
        "accessKeyId" => format!("{}{}", if console { "ASIA" } else { "AKIA" }, rng.upper(16)), "userName" => name};
        let identity = if console {
            let mut fields = match identity {
                J::O(f) => f,
                other => vec![("identity", other)],
            };
            fields.push(("sessionContext", obj! {"attributes" => obj! {"creationDate" => format!("{day}T08:{:02}:{:02}Z", rng.below(60), rng.below(60)), "mfaAuthenticated" => "true"}}));
            J::O(fields)
        } else {
            identity
        };
        out.push(Principal {
            identity: identity.to_text().into(),
            class: if name.contains('-') {
                Class::Automation
            } else {
                Class::Human
            },
            weight,
            agents: agents.to_vec(),
            ips: public_ips(rng, if console { 2 } else { 1 }),
            console,
            arn: format!("arn:aws:iam::{ACCOUNT}:user/{name}"),
        });
    }
    // SSO people, role sessions of machines, a federated user.
    let roles: &[(&str, &str, u32, &[&'static str], bool)] = &[
        (
            "AWSReservedSSO_AdministratorAccess_7c1e2f9a3b4d5e6f",
            "dana@example.com",
            25,
            &[CONSOLE, CLI_MAC],
            true,
        ),
        (
            "AWSReservedSSO_ReadOnlyAccess_1a2b3c4d5e6f7a8b",
            "erin@example.com",
            30,
            &[CONSOLE],
            true,
        ),
        (
            "AWSReservedSSO_PowerUserAccess_9f8e7d6c5b4a3f2e",
            "frank@example.com",
            20,
            &[CLI_MAC, CONSOLE],
            true,
        ),
        ("ssm-instance-role", "i-{inst}", 90, &[GO, JAVA], false),
        ("ecs-task-execution", "{hex}", 60, &[GO], false),
        ("invoice-renderer-role", "invoice-renderer", 60, &[BOTO3], false),
        ("thumbnailer-role", "thumbnailer", 50, &[NODE], false),
        (
            "github-actions-deploy",
            "GitHubActions",
            40,
            &[CLI, TERRAFORM],
            false,
        ),
        ("data-pipeline", "glue-job-{hex}", 40, &[JAVA, BOTO3], false),
        (
            "AWSServiceRoleForCloudFormation",
            "AWSCloudFormation",
            25,
            &[CFN],
            false,
        ),
    ];
    for &(role, session, weight, agents, console) in roles {
        for _ in 0..if console { 1 } else { 2 } {
            let session = session
                .replace("{inst}", &rng.hex(17))
                .replace("{hex}", &rng.hex(32));
            let role_id = format!("AROA{}", rng.upper(17));
            let arn = format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}");
            let identity = obj! {"type" => "AssumedRole", "principalId" => format!("{role_id}:{session}"),
                "arn" => arn.clone(), "accountId" => ACCOUNT, "accessKeyId" => format!("ASIA{}", rng.upper(16)),
                "sessionContext" => obj! {"sessionIssuer" => obj! {"type" => "Role", "principalId" => role_id,
                    "arn" => format!("arn:aws:iam::{ACCOUNT}:role/{role}"), "accountId" => ACCOUNT, "userName" => role},
                    "webIdFederationData" => obj! {},
                    "attributes" => obj! {"creationDate" => format!("{day}T{:02}:{:02}:{:02}Z", rng.below(24), rng.below(60), rng.below(60)),
                        "mfaAuthenticated" => if console { "true" } else { "false" }}},
            };
            let ips = if agents == [CFN] {
                vec![CFN.to_string()]
            } else {
                public_ips(rng, 1)
            };
            out.push(Principal {
                identity: identity.to_text().into(),
                class: if console { Class::Human } else { Class::Automation },
                weight: if console { weight } else { weight / 2 },
                agents: agents.to_vec(),
                ips,
                console,
                arn,
            });
        }
    }
    let fed = obj! {"type" => "FederatedUser", "principalId" => format!("{ACCOUNT}:jdoe"),
    "arn" => format!("arn:aws:sts::{ACCOUNT}:federated-user/jdoe"), "accountId" => ACCOUNT,
    "accessKeyId" => format!("ASIA{}", rng.upper(16)),
    "sessionContext" => obj! {"sessionIssuer" => obj! {"type" => "IAMUser", "principalId" => format!("AIDA{}", rng.upper(17)),
        "arn" => format!("arn:aws:iam::{ACCOUNT}:user/broker"), "accountId" => ACCOUNT, "userName" => "broker"},
        "webIdFederationData" => obj! {}, "attributes" => obj! {"creationDate" => format!("{day}T07:15:00Z"), "mfaAuthenticated" => "false"}}};
    out.push(Principal {
        identity: fed.to_text().into(),
        class: Class::Human,
        weight: 8,
        agents: vec![BOTO3, CLI],
        ips: public_ips(rng, 2),
        console: false,
        arn: format!("arn:aws:sts::{ACCOUNT}:federated-user/jdoe"),
    });
    let root = obj! {"type" => "Root", "principalId" => ACCOUNT, "arn" => format!("arn:aws:iam::{ACCOUNT}:root"),
    "accountId" => ACCOUNT, "accessKeyId" => format!("ASIA{}", rng.upper(16)),
    "sessionContext" => obj! {"attributes" => obj! {"creationDate" => format!("{day}T06:02:11Z"), "mfaAuthenticated" => "true"}}};
    out.push(Principal {
        identity: root.to_text().into(),
        class: Class::Root,
        weight: 2,
        agents: vec![CONSOLE],
        ips: public_ips(rng, 1),
        console: true,
        arn: format!("arn:aws:iam::{ACCOUNT}:root"),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn object(seed: u64, bytes: u64) -> (Vec<u8>, Summary) {
        varied(seed, bytes, Variety::Typical)
    }

    fn varied(seed: u64, bytes: u64, variety: Variety) -> (Vec<u8>, Summary) {
        let mut out = Vec::new();
        let summary = write_object(&mut out, seed, bytes, DAY, variety).unwrap();
        (out, summary)
    }

    #[test]
    fn real_variety_has_the_long_tail_the_large_and_the_odd_it_counts() {
        let (gz, summary) = varied(7, 4 << 20, Variety::Real);
        assert_eq!(varied(7, 4 << 20, Variety::Real).0, gz, "same seed, same bytes");
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        let records = doc["Records"].as_array().unwrap();
        assert_eq!(records.len() as u64, summary.records);
        let sources: HashSet<&str> = records
            .iter()
            .map(|r| r["eventSource"].as_str().unwrap())
            .collect();
        assert!(sources.len() > 100, "{} services", sources.len());
        let large = records.iter().filter(|r| r.to_string().len() > 32_766).count();
        assert!(large > 0);
        let long_leaf = records
            .iter()
            .filter(|r| {
                r["requestParameters"]["templateBody"]
                    .as_str()
                    .is_some_and(|t| t.len() > 32_766)
            })
            .count() as u64;
        let wrong_type = records
            .iter()
            .filter(|r| r["responseElements"] == "Success")
            .count() as u64;
        assert_eq!(
            (long_leaf, wrong_type),
            (summary.long_leaf_records, summary.wrong_type_records)
        );
        assert!(long_leaf > 0 && wrong_type > 0, "{summary:?}");
        assert!((6.0..9.0).contains(&summary.compression_ratio), "{summary:?}");
    }

    #[test]
    fn same_seed_same_bytes() {
        let (a, sa) = object(42, 200_000);
        let (b, sb) = object(42, 200_000);
        assert_eq!(a, b);
        assert_eq!(sa, sb);
        let (c, _) = object(43, 200_000);
        assert_ne!(a, c);
    }

    #[test]
    fn records_parse_and_look_like_cloudtrail() {
        let (gz, summary) = object(7, 400_000);
        assert_eq!(summary.compressed_bytes, gz.len() as u64);
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text).unwrap();
        assert_eq!(text.len() as u64, summary.json_bytes);
        let doc: serde_json::Value = serde_json::from_slice(&text).unwrap();
        let records = doc["Records"].as_array().unwrap();
        assert_eq!(records.len() as u64, summary.records);
        let mut ids = HashSet::new();
        let mut errors = 0;
        let mut last_time = String::new();
        let mut types = HashSet::new();
        for r in records {
            let time = r["eventTime"].as_str().unwrap();
            assert!(time.starts_with(DAY), "{time}");
            assert!(
                time >= last_time.as_str(),
                "eventTime goes back: {time} after {last_time}"
            );
            last_time = time.to_string();
            assert!(
                ids.insert(r["eventID"].as_str().unwrap().to_string()),
                "duplicate eventID"
            );
            assert!(r["eventSource"].as_str().unwrap().ends_with(".amazonaws.com"));
            types.insert(r["userIdentity"]["type"].as_str().unwrap().to_string());
            if r.get("errorCode").is_some() || r.get("errorMessage").is_some() {
                errors += 1;
            }
        }
        let rate = errors as f64 / records.len() as f64;
        assert!((0.04..0.09).contains(&rate), "error rate {rate}");
        for t in ["IAMUser", "AssumedRole", "AWSService"] {
            assert!(types.contains(t), "no {t} in {types:?}");
        }
        // Loose bounds: the targets (about 1.3 KB, 8-15x) are checked by the benchmark's print-out.
        assert!((700..2500).contains(&summary.avg_record_bytes), "{summary:?}");
        assert!((5.0..25.0).contains(&summary.compression_ratio), "{summary:?}");
    }

    #[test]
    fn cli_commands() {
        assert_eq!(cli_command(&EVENTS[0]), "ec2.describe-instances");
    }
}
