//! What a real trail has that the busy account's mix does not: a long tail
//! of services with their own request shapes and random tokens (so it
//! compresses about 7× rather than 9.4×), a few very large records (a
//! `RunInstances` or `DescribeInstances` answer runs to hundreds of KB), and
//! odd shapes that no template can index as they are: a free-shaped leaf
//! past Lucene's term limit (a CloudFormation `templateBody`), a string
//! where CloudTrail usually writes an object. Same seed, same bytes.

use crate::json::{obj, J};
use crate::rng::Rng;

/// How varied the records are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variety {
    /// The busy account's mix.
    Typical,
    /// As varied as a real organisation's trail.
    Real,
}

impl Variety {
    /// Expected compact bytes per record and gzip ratio, to spread `eventTime` over the day.
    pub(crate) fn expected(self) -> (u64, u64) {
        match self {
            Variety::Typical => (1300, 11),
            Variety::Real => (2600, 7),
        }
    }
}

/// Share of records from the long tail of services.
const LONG_TAIL: f64 = 0.4;
/// Share of very large records.
const LARGE: f64 = 0.01;
/// Share of records with a free-shaped leaf past the term limit.
const LONG_LEAF: f64 = 0.002;
/// Share of records with a string where an object belongs.
const WRONG_TYPE: f64 = 0.004;

const SERVICES: &[&str] = &[
    "access-analyzer",
    "acm-pca",
    "amplify",
    "apigateway",
    "appconfig",
    "appflow",
    "application-autoscaling",
    "appmesh",
    "apprunner",
    "appsync",
    "athena",
    "auditmanager",
    "backup",
    "batch",
    "bedrock",
    "billingconsole",
    "budgets",
    "cassandra",
    "ce",
    "chatbot",
    "cloud9",
    "cloudcontrolapi",
    "clouddirectory",
    "cloudhsm",
    "cloudshell",
    "codeartifact",
    "codebuild",
    "codecommit",
    "codedeploy",
    "codeguru-reviewer",
    "codepipeline",
    "codestar-connections",
    "cognito-identity",
    "cognito-idp",
    "comprehend",
    "config",
    "connect",
    "databrew",
    "datasync",
    "dax",
    "detective",
    "devicefarm",
    "directconnect",
    "dlm",
    "dms",
    "docdb-elastic",
    "ds",
    "ebs",
    "ecr",
    "ecr-public",
    "ecs",
    "eks",
    "elasticache",
    "elasticbeanstalk",
    "elasticfilesystem",
    "elasticloadbalancing",
    "elasticmapreduce",
    "emr-containers",
    "es",
    "events",
    "firehose",
    "fis",
    "fms",
    "forecast",
    "fsx",
    "glacier",
    "globalaccelerator",
    "glue",
    "grafana",
    "greengrass",
    "guardduty",
    "health",
    "healthlake",
    "imagebuilder",
    "inspector2",
    "iot",
    "iotevents",
    "ivs",
    "kafka",
    "kendra",
    "kinesisanalytics",
    "kinesisvideo",
    "lakeformation",
    "lex",
    "license-manager",
    "lightsail",
    "logs",
    "macie2",
    "mediaconvert",
    "memorydb",
    "mq",
    "network-firewall",
    "networkmanager",
    "oam",
    "omics",
    "organizations",
    "outposts",
    "personalize",
    "pi",
    "pipes",
    "polly",
    "qldb",
    "quicksight",
    "ram",
    "rds-data",
    "redshift",
    "redshift-data",
    "rekognition",
    "resource-explorer-2",
    "resource-groups",
    "rolesanywhere",
    "route53domains",
    "route53resolver",
    "rum",
    "s3-outposts",
    "sagemaker",
    "savingsplans",
    "scheduler",
    "schemas",
    "securityhub",
    "servicecatalog",
    "servicediscovery",
    "servicequotas",
    "ses",
    "shield",
    "signer",
    "sms-voice",
    "snow-device-management",
    "sso",
    "sso-directory",
    "states",
    "storagegateway",
    "support",
    "swf",
    "synthetics",
    "tagging",
    "textract",
    "timestream",
    "transcribe",
    "transfer",
    "translate",
    "trustedadvisor",
    "verifiedpermissions",
    "voiceid",
    "waf-regional",
    "wafv2",
    "wellarchitected",
    "workspaces",
    "xray",
];

const VERBS: &[&str] = &[
    "Describe",
    "Get",
    "List",
    "Create",
    "Update",
    "Delete",
    "Put",
    "Start",
    "Stop",
    "Tag",
    "Untag",
    "Batch",
    "Search",
    "Associate",
    "Disassociate",
    "Register",
    "Deregister",
    "Enable",
    "Disable",
];

const NOUNS: &[&str] = &[
    "Cluster",
    "Instance",
    "Job",
    "Pipeline",
    "Repository",
    "Workflow",
    "Endpoint",
    "Configuration",
    "Policy",
    "Rule",
    "Dataset",
    "Stream",
    "Application",
    "Environment",
    "Resource",
    "Findings",
    "Schedule",
    "Certificate",
    "Connection",
    "Table",
    "Model",
    "Deployment",
    "Task",
    "Secret",
];

const KEYS: &[&str] = &[
    "name",
    "clusterName",
    "jobId",
    "nextToken",
    "maxResults",
    "filters",
    "tags",
    "resourceArn",
    "clientToken",
    "roleArn",
    "description",
    "configuration",
    "settings",
    "parameters",
    "id",
    "version",
    "status",
    "encryptionConfiguration",
    "kmsKeyId",
    "logConfiguration",
    "networkConfiguration",
    "subnetIds",
    "securityGroupIds",
    "sourceVersion",
    "environmentVariables",
    "checksum",
    "marker",
];

const TEMPLATE_WORDS: &[&str] = &[
    "Resources:",
    "Type:",
    "AWS::EC2::Instance",
    "Properties:",
    "ImageId:",
    "!Ref",
    "InstanceType:",
    "Tags:",
    "- Key:",
    "Value:",
    "AWS::IAM::Role",
    "AssumeRolePolicyDocument:",
    "Statement:",
    "Effect:",
    "Allow",
    "Action:",
    "sts:AssumeRole",
    "Outputs:",
    "Export:",
    "Name:",
    "!Sub",
    "${AWS::StackName}",
];

const REGIONS: &[&str] = &[
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-2",
];

/// What [`roughen`] made of a record that no template indexes as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Odd {
    /// A free-shaped leaf past the term limit (kept, unindexed).
    pub long_leaf: bool,
    /// A string where an object belongs (the record is degraded).
    pub wrong_type: bool,
}

/// Reshapes some records as the long tail and the odd cases of a real trail do.
pub(crate) fn roughen(rng: &mut Rng, account: &str, fields: &mut [(&'static str, J)]) -> Odd {
    let set = |fields: &mut [(&'static str, J)], key: &str, value: J| {
        if let Some((_, slot)) = fields.iter_mut().find(|(k, _)| *k == key) {
            *slot = value;
        }
    };
    if rng.chance(LONG_TAIL) {
        let service = rng.pick_str(SERVICES);
        set(fields, "eventSource", J::S(format!("{service}.amazonaws.com")));
        let name = format!("{}{}", rng.pick_str(VERBS), rng.pick_str(NOUNS));
        set(fields, "eventName", J::S(name));
        set(fields, "requestParameters", request(rng, account, service, 0));
        let response = if rng.chance(0.5) {
            J::Null
        } else {
            request(rng, account, service, 0)
        };
        set(fields, "responseElements", response);
    }
    if rng.chance(LARGE) {
        // Mostly the same structure item after item, as EC2 answers are.
        let items = (0..rng.range(40, 400))
            .map(|_| {
                obj! {
                    "instanceId" => format!("i-0{}", rng.hex(16)),
                    "imageId" => "ami-0abcdef1234567890",
                    "instanceState" => obj! {"code" => 16, "name" => "running"},
                    "privateDnsName" => format!("ip-10-0-{}-{}.ec2.internal", rng.below(256), rng.below(256)),
                    "instanceType" => rng.pick_str(&["m5.large", "t3.micro", "c6g.xlarge"]),
                    "placement" => obj! {"availabilityZone" => rng.pick_str(&["us-east-1a", "us-east-1b"]), "tenancy" => "default"},
                    "monitoring" => obj! {"state" => "disabled"},
                    "subnetId" => rng.pick_str(&["subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"]),
                    "vpcId" => "vpc-0123456789abcdef0",
                    "networkInterfaceId" => format!("eni-0{}", rng.hex(16)),
                    "privateIpAddress" => format!("10.0.{}.{}", rng.below(256), rng.below(256)),
                    "launchTime" => rng.range(1_790_000_000_000, 1_800_000_000_000) as i64,
                }
            })
            .collect();
        set(
            fields,
            "responseElements",
            obj! {"instancesSet" => obj! {"items" => J::A(items)}},
        );
    }
    let mut odd = Odd::default();
    if rng.chance(LONG_LEAF) {
        // A template: the same few words over and over, past the term limit.
        let body: Vec<&str> = (0..rng.range(5000, 9000))
            .map(|_| rng.pick_str(TEMPLATE_WORDS))
            .collect();
        set(
            fields,
            "requestParameters",
            obj! {"stackName" => "app", "templateBody" => body.join(" ")},
        );
        odd.long_leaf = true;
    }
    if rng.chance(WRONG_TYPE) {
        set(fields, "responseElements", J::L("Success"));
        odd.wrong_type = true;
    }
    odd
}

/// A request of a long-tail service: a few keys, ARNs, tokens and nesting.
fn request(rng: &mut Rng, account: &str, service: &str, depth: u32) -> J {
    let n = rng.range(1, if depth == 0 { 8 } else { 4 });
    let mut keys: Vec<&'static str> = Vec::new();
    for _ in 0..n {
        let key = rng.pick_str(KEYS);
        // A key twice in one object is another kind of odd record.
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    let members = keys
        .into_iter()
        .map(|key| {
            let value = match rng.below(if depth < 2 { 6 } else { 5 }) {
                0 => J::S(format!(
                    "arn:aws:{service}:{}:{account}:{}/{}",
                    rng.pick_str(REGIONS),
                    rng.pick_str(NOUNS).to_ascii_lowercase(),
                    rng.hex(12)
                )),
                1 => {
                    let n = rng.range(20, 64) as usize;
                    J::S(rng.b64(n))
                }
                2 => J::N(rng.below(1000) as i64),
                3 => J::B(rng.chance(0.5)),
                4 => J::A(
                    (0..rng.range(1, 5))
                        .map(|_| J::S(format!("subnet-0{}", rng.hex(16))))
                        .collect(),
                ),
                _ => request(rng, account, service, depth + 1),
            };
            (key, value)
        })
        .collect();
    J::O(members)
}
