//! The few values of a record that become real fields of their own
//! (`trailsearch.actor`, `.resource`, `.issued_access_key`, `.issued_session`,
//! `.console_login`, `.mfa`), gathered by the strict walk as it passes (see `strict.rs`), so
//! they cost no second parse. Keys inside free-shaped objects cannot be
//! Discover columns or terms aggregations; these can, on every flavour.

use std::borrow::Cow;

use crate::actor::{yes_or_no, Identity, IdentityPath};

/// The request parameter that names a call's main resource, per event
/// source, in the order they are tried: the first one the record has is
/// `trailsearch.resource`. Top-level parameters only, whose values are
/// strings.
pub const RESOURCE_PARAMETERS: &[(&str, &str)] = &[
    ("rds.amazonaws.com", "dBInstanceIdentifier"),
    ("rds.amazonaws.com", "dBClusterIdentifier"),
    ("rds.amazonaws.com", "dBSnapshotIdentifier"),
    ("rds.amazonaws.com", "dBClusterSnapshotIdentifier"),
    ("rds.amazonaws.com", "dBParameterGroupName"),
    ("rds.amazonaws.com", "dBSubnetGroupName"),
    ("ec2.amazonaws.com", "groupId"),
    ("ec2.amazonaws.com", "instanceId"),
    ("ec2.amazonaws.com", "volumeId"),
    ("ec2.amazonaws.com", "snapshotId"),
    ("ec2.amazonaws.com", "imageId"),
    ("ec2.amazonaws.com", "vpcId"),
    ("ec2.amazonaws.com", "subnetId"),
    ("ec2.amazonaws.com", "networkInterfaceId"),
    ("ec2.amazonaws.com", "routeTableId"),
    ("ec2.amazonaws.com", "internetGatewayId"),
    ("ec2.amazonaws.com", "allocationId"),
    ("ec2.amazonaws.com", "keyName"),
    ("ec2.amazonaws.com", "groupName"),
    ("s3.amazonaws.com", "bucketName"),
    ("kms.amazonaws.com", "keyId"),
    ("kms.amazonaws.com", "aliasName"),
    ("lambda.amazonaws.com", "functionName"),
    ("iam.amazonaws.com", "userName"),
    ("iam.amazonaws.com", "roleName"),
    ("iam.amazonaws.com", "policyArn"),
    ("iam.amazonaws.com", "groupName"),
    ("iam.amazonaws.com", "instanceProfileName"),
    ("iam.amazonaws.com", "accessKeyId"),
    ("sts.amazonaws.com", "roleArn"),
    ("secretsmanager.amazonaws.com", "secretId"),
    ("secretsmanager.amazonaws.com", "name"),
    ("ssm.amazonaws.com", "name"),
    ("cloudtrail.amazonaws.com", "name"),
    ("cloudtrail.amazonaws.com", "trailName"),
    ("dynamodb.amazonaws.com", "tableName"),
    ("sqs.amazonaws.com", "queueUrl"),
    ("sqs.amazonaws.com", "queueName"),
    ("sns.amazonaws.com", "topicArn"),
    ("sns.amazonaws.com", "name"),
    ("logs.amazonaws.com", "logGroupName"),
    ("elasticloadbalancing.amazonaws.com", "loadBalancerArn"),
    ("elasticloadbalancing.amazonaws.com", "loadBalancerName"),
    ("elasticloadbalancing.amazonaws.com", "targetGroupArn"),
    ("cloudformation.amazonaws.com", "stackName"),
    ("ecr.amazonaws.com", "repositoryName"),
    ("eks.amazonaws.com", "name"),
    ("ecs.amazonaws.com", "cluster"),
    ("route53.amazonaws.com", "hostedZoneId"),
    ("kinesis.amazonaws.com", "streamName"),
    ("es.amazonaws.com", "domainName"),
    ("guardduty.amazonaws.com", "detectorId"),
    ("config.amazonaws.com", "configRuleName"),
    ("organizations.amazonaws.com", "accountId"),
    ("organizations.amazonaws.com", "policyId"),
    ("apigateway.amazonaws.com", "restApiId"),
    ("acm.amazonaws.com", "certificateArn"),
];

/// Where the walk is, as far as gathering cares.
#[derive(Debug, Clone, Copy)]
pub(crate) enum At {
    Identity(IdentityPath),
    Request,
    Response,
    Credentials,
    /// `assumedRoleUser` or `federatedUser` in the response.
    IssuedTo,
    Additional,
    /// A request parameter named in [`RESOURCE_PARAMETERS`].
    Parameter(&'static str),
    /// An item of `resources`.
    Resources,
    /// `resources[].ARN`.
    ResourceArn,
    IssuedAccessKey,
    IssuedSession,
    ConsoleLogin,
    MfaUsed,
}

impl At {
    /// Where a top-level member leads.
    pub(crate) fn top(name: &str) -> Option<At> {
        match name {
            "userIdentity" => Some(At::Identity(IdentityPath::Root)),
            "requestParameters" => Some(At::Request),
            "responseElements" => Some(At::Response),
            "additionalEventData" => Some(At::Additional),
            "resources" => Some(At::Resources),
            _ => None,
        }
    }

    /// Where `key` under this object leads, if anywhere gathering needs.
    pub(crate) fn child(self, key: &str) -> Option<At> {
        match (self, key) {
            (At::Identity(path), _) => path.child(key).map(At::Identity),
            (At::Request, _) => RESOURCE_PARAMETERS
                .iter()
                .find(|(_, name)| *name == key)
                .map(|(_, name)| At::Parameter(name)),
            (At::Response, "credentials") => Some(At::Credentials),
            (At::Response, "assumedRoleUser" | "federatedUser") => Some(At::IssuedTo),
            (At::IssuedTo, "arn") => Some(At::IssuedSession),
            (At::Response, "ConsoleLogin") => Some(At::ConsoleLogin),
            (At::Credentials, "accessKeyId") => Some(At::IssuedAccessKey),
            (At::Additional, "MFAUsed") => Some(At::MfaUsed),
            (At::Resources, "ARN") => Some(At::ResourceArn),
            _ => None,
        }
    }
}

/// The values gathered from one record, borrowed from it.
#[derive(Debug, Default)]
pub(crate) struct Gathered<'a> {
    /// `userIdentity`'s naming parts, when it is an object.
    pub identity: Option<Identity<'a>>,
    /// Request parameters that may name the main resource.
    parameters: Vec<(&'static str, Cow<'a, str>)>,
    /// `resources[].ARN`.
    resource_arns: Vec<Cow<'a, str>>,
    issued_access_key: Option<Cow<'a, str>>,
    issued_session: Option<Cow<'a, str>>,
    console_login: Option<Cow<'a, str>>,
    mfa_used: Option<Cow<'a, str>>,
}

impl<'a> Gathered<'a> {
    /// Keeps a string found at `at`.
    pub(crate) fn keep(&mut self, at: At, text: Cow<'a, str>) {
        match at {
            At::Identity(IdentityPath::Field(field)) => {
                if let Some(identity) = &mut self.identity {
                    *identity.field(field) = Some(text);
                }
            }
            At::Parameter(name) => self.parameters.push((name, text)),
            At::ResourceArn => self.resource_arns.push(text),
            At::IssuedAccessKey => self.issued_access_key = Some(text),
            At::IssuedSession => self.issued_session = Some(text),
            At::ConsoleLogin => self.console_login = Some(text),
            At::MfaUsed => self.mfa_used = Some(text),
            _ => {}
        }
    }

    /// The derived fields, given the record's `eventSource`.
    pub(crate) fn derive(&self, event_source: Option<&str>) -> Derived {
        let nonempty = |s: &Option<Cow<'_, str>>| s.as_deref().filter(|s| !s.is_empty()).map(str::to_string);
        Derived {
            actor: self.identity.as_ref().and_then(Identity::actor),
            user_names: self
                .identity
                .as_ref()
                .map(Identity::user_names)
                .unwrap_or_default(),
            resource: event_source.and_then(|source| self.resource(source)),
            resource_names: resource_names(&self.resource_arns),
            issued_access_key: nonempty(&self.issued_access_key),
            issued_session: nonempty(&self.issued_session),
            console_login: nonempty(&self.console_login),
            mfa: self
                .mfa_used
                .as_deref()
                .and_then(yes_or_no)
                .or_else(|| self.identity.as_ref()?.mfa_authenticated()),
        }
    }

    fn resource(&self, event_source: &str) -> Option<String> {
        RESOURCE_PARAMETERS
            .iter()
            .filter(|(source, _)| *source == event_source)
            .find_map(|(_, name)| {
                self.parameters
                    .iter()
                    .find(|(kept, value)| kept == name && !value.is_empty())
            })
            .map(|(_, value)| value.to_string())
    }
}

/// How many names [`resource_names`] takes from one ARN: object keys can
/// be deep, and nobody names a resource by its tenth-last part.
const RESOURCE_NAME_PARTS: usize = 8;

/// `trailsearch.resource_names`: every name `search --resource` accepts for
/// these ARNs short of a whole ARN, so that it is a term lookup rather than
/// a wildcard each shard expands: the resource part (after the account) and
/// what follows each `:` or `/` in it (`db:prod-orders-db` and
/// `prod-orders-db` in `arn:aws:rds:...:db:prod-orders-db`;
/// `my-bucket/logs/a.gz`, `logs/a.gz` and `a.gz` in
/// `arn:aws:s3:::my-bucket/logs/a.gz`). A value that is no ARN is read as
/// a resource part.
pub fn resource_names(arns: &[impl AsRef<str>]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for arn in arns {
        let arn = arn.as_ref();
        let resource = match arn.strip_prefix("arn:") {
            Some(rest) => rest.splitn(5, ':').nth(4).unwrap_or(""),
            None => arn,
        };
        names.push(resource.to_string());
        // From the end: the shortest names, which a deep key keeps.
        names.extend(
            resource
                .rmatch_indices([':', '/'])
                .take(RESOURCE_NAME_PARTS)
                .map(|(at, _)| resource[at + 1..].to_string()),
        );
    }
    names.retain(|name| !name.is_empty());
    names.sort_unstable();
    names.dedup();
    names
}

/// What trailsearch adds to a document from the record's own values.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Derived {
    /// `trailsearch.actor`: who acted, one name whatever the identity type.
    pub actor: Option<String>,
    /// `trailsearch.user_names`: the names inside the ARN and principal ID
    /// (see [`Identity::user_names`]).
    pub user_names: Vec<String>,
    /// `trailsearch.resource`: the call's main resource, from
    /// [`RESOURCE_PARAMETERS`].
    pub resource: Option<String>,
    /// `trailsearch.resource_names`: the names at the end of the ARNs in
    /// `resources` (see [`resource_names`]).
    pub resource_names: Vec<String>,
    /// `trailsearch.issued_access_key`: the access key of the credentials
    /// the call issued (`responseElements.credentials.accessKeyId`).
    pub issued_access_key: Option<String>,
    /// `trailsearch.issued_session`: the ARN of the session or federated
    /// user the call issued (`responseElements.assumedRoleUser.arn`,
    /// `.federatedUser.arn`): console and Identity Center sessions are used
    /// with another key than the one issued, so `trace` also looks there.
    pub issued_session: Option<String>,
    /// `trailsearch.console_login`: a console sign-in's result.
    pub console_login: Option<String>,
    /// `trailsearch.mfa`: whether MFA was used to sign in
    /// (`additionalEventData.MFAUsed`) or authenticated the session.
    pub mfa: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::derive;
    use serde_json::json;

    #[test]
    fn resource_names_are_the_names_resource_finds_at_the_end_of_arns() {
        let derived = derive(&json!({"resources": [
            {"accountId": "111122223333", "type": "AWS::RDS::DBInstance",
                "ARN": "arn:aws:rds:eu-west-1:111122223333:db:prod-orders-db"},
            {"ARN": "arn:aws:s3:::my-bucket/logs/a.gz"},
            {"type": "AWS::S3::Object"},
            {"ARN": "sg-0a1b2c3d"},
        ]}));
        assert_eq!(
            derived.resource_names,
            [
                "a.gz",
                "db:prod-orders-db",
                "logs/a.gz",
                "my-bucket/logs/a.gz",
                "prod-orders-db",
                "sg-0a1b2c3d"
            ]
        );
        // The fast path gathers as the slow one does.
        let record = br#"{"eventVersion":"1.08","resources":[{"ARN":"arn:aws:iam::1:role/ops/Admin"}]}"#;
        let clean = crate::strict::check_record(record).unwrap();
        assert_eq!(
            clean.gathered.derive(None).resource_names,
            ["Admin", "ops/Admin", "role/ops/Admin"]
        );
        // Deep keys give their last parts only.
        let deep = format!(
            "arn:aws:s3:::b/{}",
            (0..20).map(|n| n.to_string()).collect::<Vec<_>>().join("/")
        );
        let names = resource_names(&[deep]);
        assert_eq!(names.len(), 1 + RESOURCE_NAME_PARTS, "{names:?}");
        assert!(
            names.contains(&"19".to_string())
                && !names.contains(&"5/6/7/8/9/10/11/12/13/14/15/16/17/18/19".to_string())
        );
        assert!(resource_names(&[""; 1]).is_empty());
    }

    #[test]
    fn each_derived_field_comes_from_its_own_place() {
        let derived = derive(&json!({
            "eventSource": "rds.amazonaws.com",
            "userIdentity": {"type": "IAMUser", "userName": "alice",
                "sessionContext": {"attributes": {"mfaAuthenticated": "true"}}},
            "requestParameters": {"skipFinalSnapshot": true, "dBClusterIdentifier": "c1",
                "dBInstanceIdentifier": "prod-orders-db"},
        }));
        assert_eq!(
            derived,
            Derived {
                actor: Some("alice".into()),
                resource: Some("prod-orders-db".into()),
                mfa: Some(true),
                ..Derived::default()
            }
        );
        let login = derive(&json!({"eventSource": "signin.amazonaws.com",
            "responseElements": {"ConsoleLogin": "Failure"}, "additionalEventData": {"MFAUsed": "No"},
            "userIdentity": {"sessionContext": {"attributes": {"mfaAuthenticated": "true"}}}}));
        assert_eq!(login.console_login.as_deref(), Some("Failure"));
        assert_eq!(login.mfa, Some(false), "the sign-in's own answer wins");
        let assume = derive(&json!({"eventSource": "sts.amazonaws.com",
            "requestParameters": {"roleArn": "arn:aws:iam::1:role/Admin", "roleSessionName": "bob"},
            "responseElements": {"credentials": {"accessKeyId": "ASIAEXAMPLE", "sessionToken": "x"}}}));
        assert_eq!(assume.issued_access_key.as_deref(), Some("ASIAEXAMPLE"));
        assert_eq!(assume.issued_session, None);
        let federation = derive(&json!({"responseElements": {
            "federatedUser": {"arn": "arn:aws:sts::1:federated-user/carol", "federatedUserId": "1:carol"}}}));
        assert_eq!(
            federation.issued_session.as_deref(),
            Some("arn:aws:sts::1:federated-user/carol")
        );
        assert_eq!(assume.resource.as_deref(), Some("arn:aws:iam::1:role/Admin"));
        // A name of another service's table, or a non-string value, is no resource.
        assert_eq!(
            derive(&json!({"eventSource": "kms.amazonaws.com",
                "requestParameters": {"bucketName": "b", "keyId": {"x": 1}}}))
            .resource,
            None
        );
        assert_eq!(derive(&json!("x")), Derived::default());
    }
}
