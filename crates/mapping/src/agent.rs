//! Which tool made a call, from CloudTrail's `userAgent`: the console, the
//! AWS CLI, an SDK, Terraform, CloudFormation or an AWS service, with the
//! tool's name and version where the string says them.

/// A classified user agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent<'a> {
    /// `trailsearch.client`: one of [`CLIENTS`].
    pub client: &'static str,
    /// `user_agent.name`: the tool, e.g. `aws-cli`, `Boto3`, `aws-sdk-java`.
    pub name: Option<&'a str>,
    /// `user_agent.version`: its version, e.g. `2.15.30`.
    pub version: Option<&'a str>,
}

/// Every value `trailsearch.client` takes.
pub const CLIENTS: &[&str] = &[
    "console",
    "aws-cli",
    "sdk",
    "terraform",
    "cloudformation",
    "aws-service",
    "other",
];

/// SDK product tokens, as they start a user agent or follow a space. Terraform
/// and the CLI also carry SDK tokens, so they are recognised first.
const SDKS: &[&str] = &[
    "Boto3",
    "Botocore",
    "aws-sdk-java",
    "aws-sdk-go-v2",
    "aws-sdk-go",
    "aws-sdk-js",
    "aws-sdk-nodejs",
    "aws-sdk-dotnet-coreclr",
    "aws-sdk-dotnet-45",
    "aws-sdk-dotnet",
    "aws-sdk-ruby3",
    "aws-sdk-ruby2",
    "aws-sdk-ruby",
    "aws-sdk-php",
    "aws-sdk-rust",
    "aws-sdk-cpp",
    "aws-sdk-swift",
    "aws-sdk-kotlin",
];

/// Classifies a `userAgent` value.
pub fn classify(user_agent: &str) -> Agent<'_> {
    let ua = user_agent.trim();
    let plain = |client| Agent {
        client,
        name: None,
        version: None,
    };
    let tool = |client, (name, version)| Agent {
        client,
        name: Some(name),
        version,
    };
    if let Some(found) = product(ua, |name| name == "Terraform") {
        return tool("terraform", found);
    }
    if let Some(found) = product(ua, |name| name == "aws-cli") {
        return tool("aws-cli", found);
    }
    if ua.eq_ignore_ascii_case("cloudformation.amazonaws.com") {
        return plain("cloudformation");
    }
    if is_console(ua) {
        return plain("console");
    }
    // AWS calling on a principal's behalf; such strings also carry SDK tokens.
    if ua == "AWS Internal" || ua.starts_with("aws-internal/") {
        return plain("aws-service");
    }
    if let Some(found) = product(ua, |name| SDKS.contains(&name)) {
        return tool("sdk", found);
    }
    if ua.ends_with(".amazonaws.com") && !ua.contains(' ') {
        return plain("aws-service");
    }
    plain("other")
}

fn is_console(ua: &str) -> bool {
    // API calls the console makes name a console host; sign-ins carry the
    // person's browser.
    ua.starts_with("console.")
        || ua.starts_with("signin.amazonaws.com")
        || memchr::memmem::find(ua.as_bytes(), b"console.a")
            .is_some_and(|_| ua.contains("console.amazonaws.com") || ua.contains("console.aws.amazon.com"))
        || ua.starts_with("Mozilla/")
}

/// The first product token `name/version` (or a bare `name`) the predicate
/// wants, among the space-separated words of `ua`; the version ends at a
/// parenthesis.
fn product(ua: &str, wanted: impl Fn(&str) -> bool) -> Option<(&str, Option<&str>)> {
    ua.split(' ').find_map(|word| {
        let (name, version) = match word.split_once('/') {
            Some((name, rest)) => {
                let end = rest.find(['(', ')']).unwrap_or(rest.len());
                (name, Some(&rest[..end]).filter(|v| !v.is_empty()))
            }
            None => (word, None),
        };
        (!name.is_empty() && wanted(name)).then_some((name, version))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_user_agents_are_classified() {
        let cases: &[(&str, &str, Option<&str>, Option<&str>)] = &[
            (
                "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0 exe/x86_64.debian.12 prompt/off command/rds.delete-db-instance",
                "aws-cli",
                Some("aws-cli"),
                Some("2.15.30"),
            ),
            (
                "aws-cli/1.29.62 Python/3.9.16 Linux/5.10 botocore/1.31.62",
                "aws-cli",
                Some("aws-cli"),
                Some("1.29.62"),
            ),
            (
                "Boto3/1.34.51 md/Botocore#1.34.51 ua/2.0 os/linux#5.10 md/arch#x86_64 lang/python#3.12.2 Botocore/1.34.51",
                "sdk",
                Some("Boto3"),
                Some("1.34.51"),
            ),
            (
                "aws-sdk-java/2.20.162 Linux/5.10 OpenJDK_64-Bit_Server_VM/17.0.8+7-LTS Java/17.0.8 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy",
                "sdk",
                Some("aws-sdk-java"),
                Some("2.20.162"),
            ),
            (
                "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.21.6 md/GOOS#linux md/GOARCH#amd64 api/s3#1.51.1",
                "sdk",
                Some("aws-sdk-go-v2"),
                Some("1.25.2"),
            ),
            ("aws-sdk-go/1.50.0 (go1.21.6; linux; amd64)", "sdk", Some("aws-sdk-go"), Some("1.50.0")),
            (
                "aws-sdk-js/3.515.0 ua/2.0 os/linux#5.10 lang/js md/nodejs#20.11.0 api/dynamodb#3.515.0",
                "sdk",
                Some("aws-sdk-js"),
                Some("3.515.0"),
            ),
            (
                "aws-sdk-dotnet-coreclr/3.7.300.48 ua/2.0 OS/Linux_5.10 OSVer/5.10 md/aws-sdk-dotnet-core#3.7.302.15",
                "sdk",
                Some("aws-sdk-dotnet-coreclr"),
                Some("3.7.300.48"),
            ),
            (
                "APN/1.0 HashiCorp/1.0 Terraform/1.7.4 (+https://www.terraform.io) terraform-provider-aws/5.38.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.25.0 os/linux",
                "terraform",
                Some("Terraform"),
                Some("1.7.4"),
            ),
            ("cloudformation.amazonaws.com", "cloudformation", None, None),
            ("console.amazonaws.com", "console", None, None),
            ("console.ec2.amazonaws.com", "console", None, None),
            ("signin.amazonaws.com", "console", None, None),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
                "console",
                None,
                None,
            ),
            ("lambda.amazonaws.com", "aws-service", None, None),
            ("AWS Internal", "aws-service", None, None),
            ("aws-internal/3 aws-sdk-java/1.12.596 Linux/5.10", "aws-service", None, None),
            ("autoscaling.amazonaws.com", "aws-service", None, None),
            ("curl/8.5.0", "other", None, None),
            ("", "other", None, None),
            ("my-aws-cli-wrapper/1.0", "other", None, None),
        ];
        for (ua, client, name, version) in cases {
            let agent = classify(ua);
            assert_eq!(
                (agent.client, agent.name, agent.version),
                (*client, *name, *version),
                "{ua}"
            );
            assert!(CLIENTS.contains(&agent.client));
        }
    }
}
