//! The saved searches: a table of Lucene queries and the columns that answer
//! their questions.

use serde_json::{json, Value};
use trailsearch_mapping::STREAM_KINDS;

use crate::fields::*;
use crate::objects::{index_reference, object, search_source, Naming};
use crate::query::Query::{self, And, AnyOf, Before, Exists, Is, Not, Or};

/// One saved search: a Lucene query and the columns that answer its question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedSearch {
    /// The ID's last part: `trailsearch-search-<slug>`.
    pub slug: &'static str,
    /// Title shown in Discover and on dashboards.
    pub title: &'static str,
    /// What it is for.
    pub description: &'static str,
    /// The Lucene query (`query_string` syntax), run as Kibana runs it.
    pub query: String,
    /// Discover's columns, after the time column Discover always shows first.
    pub columns: Vec<&'static str>,
}

/// A saved search as declared: [`SavedSearch`] before its query is written.
pub(crate) struct Search {
    pub(crate) slug: &'static str,
    title: &'static str,
    description: &'static str,
    query: Query,
    columns: &'static [&'static str],
}

/// Who did what to which resource, from where, with what request.
const WHO_WHAT_WHERE: &[&str] = &[
    ACTOR,
    EVENT_SOURCE,
    EVENT_NAME,
    RESOURCE,
    SOURCE_IP,
    USER_AGENT,
    REQUEST,
    ERROR_CODE,
];

/// Both sign-in searches show who, from where, with what, and the result.
const SIGN_IN_COLUMNS: &[&str] = &[
    ACTOR,
    USER_ARN,
    USER_TYPE,
    SOURCE_IP,
    USER_AGENT,
    CONSOLE_LOGIN,
    MFA,
    ERROR_MESSAGE,
];

const CONSOLE_SIGN_IN: Query = Is(EVENT_TYPE, "AwsConsoleSignIn");

/// The saved searches, in dashboard order.
pub(crate) const SEARCHES: &[Search] = &[
    Search {
        slug: "resource-deletions",
        title: "Resource deletions",
        description: "Delete*, Terminate* and Remove* calls of every service (RDS, EC2, S3, IAM...), \
                      failed attempts included: who deleted what, from where, when.",
        query: AnyOf(EVENT_NAME, &["Delete*", "Terminate*", "Remove*"]),
        columns: WHO_WHAT_WHERE,
    },
    Search {
        slug: "security-group-changes",
        title: "Security group changes",
        description: "Security group rules authorized, revoked or modified, and groups created or \
                      deleted: who, with what request, and what came back.",
        query: And(&[
            Is(EVENT_SOURCE, "ec2.amazonaws.com"),
            AnyOf(
                EVENT_NAME,
                &[
                    "AuthorizeSecurityGroupIngress",
                    "AuthorizeSecurityGroupEgress",
                    "RevokeSecurityGroupIngress",
                    "RevokeSecurityGroupEgress",
                    "ModifySecurityGroupRules",
                    "UpdateSecurityGroupRuleDescriptionsIngress",
                    "UpdateSecurityGroupRuleDescriptionsEgress",
                    "CreateSecurityGroup",
                    "DeleteSecurityGroup",
                ],
            ),
        ]),
        columns: &[
            ACTOR, USER_ARN, EVENT_NAME, SOURCE_IP, RESOURCE, REQUEST, RESPONSE, ERROR_CODE,
        ],
    },
    Search {
        slug: "api-errors",
        title: "API errors",
        description: "Every call that came back with an error code, with the message and the client \
                      that made it.",
        query: Exists(ERROR_CODE),
        columns: &[
            ACTOR,
            EVENT_SOURCE,
            EVENT_NAME,
            ERROR_CODE,
            ERROR_MESSAGE,
            CLIENT,
            USER_AGENT,
            SOURCE_IP,
        ],
    },
    Search {
        slug: "access-denied",
        title: "Access denied",
        description: "Calls refused for want of permission (AccessDenied, AccessDeniedException, \
                      UnauthorizedOperation, AuthorizationError).",
        query: AnyOf(
            ERROR_CODE,
            &[
                "AccessDenied*",
                "*UnauthorizedOperation",
                "*UnauthorizedAccess",
                "AuthorizationError*",
            ],
        ),
        columns: &[
            ACTOR,
            EVENT_SOURCE,
            EVENT_NAME,
            RESOURCE,
            ERROR_CODE,
            ERROR_MESSAGE,
            SOURCE_IP,
            USER_AGENT,
        ],
    },
    Search {
        slug: "console-sign-ins",
        title: "Console sign-ins",
        description: "AWS console sign-ins, successful or not, with MFA use.",
        query: CONSOLE_SIGN_IN,
        columns: SIGN_IN_COLUMNS,
    },
    Search {
        slug: "console-sign-in-failures",
        title: "Console sign-in failures",
        description: "Failed AWS console sign-ins.",
        query: And(&[
            CONSOLE_SIGN_IN,
            Or(&[Is(OUTCOME, "failure"), Is(CONSOLE_LOGIN, "Failure")]),
        ]),
        columns: SIGN_IN_COLUMNS,
    },
    Search {
        slug: "root-activity",
        title: "Root account activity",
        description: "Anything done as an account's root user, not on its behalf by an AWS service.",
        query: And(&[
            Is(USER_TYPE, "Root"),
            Not(&Exists(INVOKED_BY)),
            Not(&Is(EVENT_TYPE, "AwsServiceEvent")),
        ]),
        columns: &[
            ACCOUNT,
            EVENT_SOURCE,
            EVENT_NAME,
            SOURCE_IP,
            USER_AGENT,
            ERROR_CODE,
        ],
    },
    Search {
        slug: "iam-changes",
        title: "IAM changes",
        description: "IAM calls that change something (users, access keys, groups, roles, policies): \
                      every IAM call that is not a Get, List, Generate or Simulate.",
        query: And(&[
            Is(EVENT_SOURCE, "iam.amazonaws.com"),
            Not(&AnyOf(EVENT_NAME, &["Get*", "List*", "Generate*", "Simulate*"])),
        ]),
        columns: &[
            ACTOR, EVENT_NAME, RESOURCE, SOURCE_IP, USER_AGENT, REQUEST, ERROR_CODE,
        ],
    },
    Search {
        slug: "cloudtrail-config-tampering",
        title: "CloudTrail and Config tampering",
        description: "Trails stopped, deleted or narrowed, and AWS Config recorders or delivery \
                      channels stopped or deleted.",
        query: And(&[
            AnyOf(
                EVENT_SOURCE,
                &["cloudtrail.amazonaws.com", "config.amazonaws.com"],
            ),
            AnyOf(
                EVENT_NAME,
                &[
                    "StopLogging",
                    "DeleteTrail",
                    "UpdateTrail",
                    "PutEventSelectors",
                    "DeleteConfigurationRecorder",
                    "StopConfigurationRecorder",
                    "DeleteDeliveryChannel",
                ],
            ),
        ]),
        columns: WHO_WHAT_WHERE,
    },
    Search {
        slug: "kms-key-disable-deletion",
        title: "KMS keys disabled or scheduled for deletion",
        description: "KMS keys disabled, scheduled for deletion, or with their imported key material \
                      deleted.",
        query: And(&[
            Is(EVENT_SOURCE, "kms.amazonaws.com"),
            AnyOf(
                EVENT_NAME,
                &["DisableKey", "ScheduleKeyDeletion", "DeleteImportedKeyMaterial"],
            ),
        ]),
        columns: &[ACTOR, EVENT_NAME, RESOURCE, SOURCE_IP, USER_AGENT, ERROR_CODE],
    },
    Search {
        slug: "s3-bucket-access-changes",
        title: "S3 bucket policy, ACL and public access changes",
        description: "Bucket policies and ACLs put or deleted, and public access blocks changed \
                      (bucket or account).",
        query: And(&[
            Is(EVENT_SOURCE, "s3.amazonaws.com"),
            AnyOf(
                EVENT_NAME,
                &[
                    "PutBucketPolicy",
                    "DeleteBucketPolicy",
                    "PutBucketAcl",
                    "PutBucketPublicAccessBlock",
                    "DeleteBucketPublicAccessBlock",
                    "PutAccountPublicAccessBlock",
                    "DeleteAccountPublicAccessBlock",
                ],
            ),
        ]),
        columns: &[
            ACTOR, EVENT_NAME, RESOURCE, SOURCE_IP, USER_AGENT, REQUEST, ERROR_CODE,
        ],
    },
    Search {
        slug: "network-changes",
        title: "Network changes",
        description: "Network ACLs, route tables, routes, internet/customer/NAT gateways and VPCs \
                      (peering, attributes, ClassicLink) created, changed or deleted.",
        query: And(&[
            Is(EVENT_SOURCE, "ec2.amazonaws.com"),
            AnyOf(
                EVENT_NAME,
                &[
                    "CreateNetworkAcl",
                    "CreateNetworkAclEntry",
                    "DeleteNetworkAcl",
                    "DeleteNetworkAclEntry",
                    "ReplaceNetworkAclEntry",
                    "ReplaceNetworkAclAssociation",
                    "CreateRouteTable",
                    "DeleteRouteTable",
                    "CreateRoute",
                    "DeleteRoute",
                    "ReplaceRoute",
                    "ReplaceRouteTableAssociation",
                    "AssociateRouteTable",
                    "DisassociateRouteTable",
                    "CreateInternetGateway",
                    "DeleteInternetGateway",
                    "AttachInternetGateway",
                    "DetachInternetGateway",
                    "CreateCustomerGateway",
                    "DeleteCustomerGateway",
                    "CreateNatGateway",
                    "DeleteNatGateway",
                    "CreateVpc",
                    "DeleteVpc",
                    "ModifyVpcAttribute",
                    "CreateVpcPeeringConnection",
                    "AcceptVpcPeeringConnection",
                    "DeleteVpcPeeringConnection",
                    "RejectVpcPeeringConnection",
                    "AttachClassicLinkVpc",
                    "DetachClassicLinkVpc",
                    "EnableVpcClassicLink",
                    "DisableVpcClassicLink",
                ],
            ),
        ]),
        columns: &[
            ACTOR, EVENT_NAME, AWS_REGION, RESOURCE, SOURCE_IP, USER_AGENT, REQUEST, ERROR_CODE,
        ],
    },
    Search {
        slug: "provisional-without-record",
        title: "Events whose S3 record never came",
        description: "Copies from EventBridge, CloudWatch Logs or Kinesis still not replaced by their S3 \
                      record two hours on: the log object was deleted or never delivered, or the trail's \
                      event selectors leave the event out of the S3 trail.",
        query: And(&[AnyOf(SOURCE_KIND, STREAM_KINDS), Before(TIMESTAMP, "now-2h")]),
        columns: &[
            ACTOR,
            EVENT_SOURCE,
            EVENT_NAME,
            RESOURCE,
            AWS_REGION,
            SOURCE_KIND,
            SOURCE_KEY,
            ERROR_CODE,
        ],
    },
    Search {
        slug: "not-verified",
        title: "Events not verified by a digest",
        description: "Events from S3 whose log object no valid CloudTrail digest has vouched for                       (pending: its digest has not been ingested yet, or log file validation is off)                       or whose object was changed after delivery (modified). trailsearch verify names                       each object and why.",
        query: And(&[Is(SOURCE_KIND, "s3"), Not(&Is(INTEGRITY, "verified"))]),
        columns: &[INTEGRITY, SOURCE_KEY, ACTOR, EVENT_NAME, RESOURCE, ACCOUNT, AWS_REGION],
    },
];

impl Search {
    fn saved(&self) -> SavedSearch {
        SavedSearch {
            slug: self.slug,
            title: self.title,
            description: self.description,
            query: self.query.to_string(),
            columns: self.columns.iter().map(|column| field(column)).collect(),
        }
    }
}

/// The saved searches, in dashboard order.
pub fn saved_searches() -> Vec<SavedSearch> {
    SEARCHES.iter().map(Search::saved).collect()
}

/// A saved search as a saved object, newest events first.
pub(crate) fn search_object(search: &SavedSearch, naming: &Naming) -> Value {
    object(
        "search",
        &naming.id("search", search.slug),
        json!({
            "title": naming.title(search.title),
            "description": search.description,
            "columns": search.columns,
            "sort": [[aggregated_field(TIMESTAMP), "desc"]],
            "version": 1,
            "kibanaSavedObjectMeta": {"searchSourceJSON": search_source(&search.query)},
        }),
        index_reference(naming),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use trailsearch_mapping::catalogue_path;

    #[test]
    fn searches_name_catalogue_fields_only() {
        for search in SEARCHES {
            for path in search
                .query
                .fields()
                .into_iter()
                .chain(search.columns.iter().copied())
            {
                assert!(catalogue_path(path), "{}: {path:?}", search.slug);
            }
        }
    }

    #[test]
    fn compound_queries_keep_their_grouping() {
        let query = |slug| {
            saved_searches()
                .into_iter()
                .find(|s| s.slug == slug)
                .map(|s| s.query)
                .unwrap()
        };
        assert_eq!(
            query("console-sign-in-failures"),
            "eventType:AwsConsoleSignIn AND (event.outcome:failure OR trailsearch.console_login:Failure)"
        );
        assert_eq!(
            query("root-activity"),
            "userIdentity.type:Root AND NOT _exists_:userIdentity.invokedBy AND NOT eventType:AwsServiceEvent"
        );
        assert_eq!(
            query("iam-changes"),
            "eventSource:iam.amazonaws.com AND NOT eventName:(Get* OR List* OR Generate* OR Simulate*)"
        );
    }
}
