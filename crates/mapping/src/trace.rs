//! Who really did it: from an event's credentials back to the call that
//! issued them, hop by hop, to a person, an AWS service or the edge of the
//! indexed time. Search-time only: credentials are often logged after
//! their first use, so nothing here is decided at ingest. This module is
//! the pure part — what to look for next, which hit is the hop, the
//! requests — and the sink runs the loop.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{json, Value};

/// Clocks of AWS services disagree a little: an issuing call may be logged
/// with a time just after the first use of what it issued.
const CLOCK_SKEW_MINUTES: i64 = 5;

/// Most hops followed before giving up (chains are a few hops long).
pub const MAX_HOPS: usize = 20;

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// One call of a chain, as printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hop {
    /// `eventTime`.
    pub time: Option<String>,
    /// `recipientAccountId`: the account the record was logged in.
    pub account: Option<String>,
    /// `eventName`.
    pub event_name: Option<String>,
    /// `eventID`.
    pub event_id: Option<String>,
    /// `userIdentity.type`.
    pub identity_type: Option<String>,
    /// Who made the call: the ARN, else the user name or principal ID.
    pub identity: Option<String>,
    /// The credentials it was made with (`userIdentity.accessKeyId`).
    pub access_key: Option<String>,
    /// `sessionContext.sourceIdentity`: set by the first role session of a
    /// chain, carried through every later hop.
    pub source_identity: Option<String>,
    /// The credentials it issued, for issuing calls.
    pub issued_access_key: Option<String>,
    /// The session it issued, for issuing calls.
    pub issued_session: Option<String>,
    /// `sourceIPAddress`.
    pub source_ip: Option<String>,
    /// `userAgent`.
    pub user_agent: Option<String>,
}

impl Hop {
    /// The hop an event is.
    pub fn of(event: &Value) -> Hop {
        let identity = &event["userIdentity"];
        let derived = crate::document::derive(event);
        Hop {
            time: text(&event["eventTime"]),
            account: text(&event["recipientAccountId"]),
            event_name: text(&event["eventName"]),
            event_id: text(&event["eventID"]),
            identity_type: text(&identity["type"]),
            identity: ["arn", "userName", "principalId", "invokedBy", "accountId"]
                .iter()
                .find_map(|k| text(&identity[*k])),
            access_key: text(&identity["accessKeyId"]),
            source_identity: text(&identity["sessionContext"]["sourceIdentity"]),
            issued_access_key: derived.issued_access_key,
            issued_session: derived.issued_session,
            source_ip: text(&event["sourceIPAddress"]),
            user_agent: text(&event["userAgent"]),
        }
    }
}

/// Where a chain ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Origin {
    /// An IAM user, with its own long-term keys (or a session of its own).
    IamUser {
        /// `userName`.
        name: String,
        /// `arn`.
        arn: Option<String>,
    },
    /// An account's root user.
    Root {
        /// The account.
        account: Option<String>,
    },
    /// A person signed in through a SAML identity provider.
    SamlUser {
        /// The SAML subject (`responseElements.subject` or `userName`).
        subject: String,
        /// The SAML provider (`requestParameters.principalArn`, else
        /// `identityProvider`).
        provider: Option<String>,
    },
    /// A person or workload signed in with a web identity (OIDC) token.
    WebIdentityUser {
        /// The token's subject.
        subject: String,
        /// The identity provider.
        provider: Option<String>,
    },
    /// An IAM Identity Center user.
    IdentityCenterUser {
        /// The user name, or the user ID in the identity store.
        user: String,
        /// The identity store.
        identity_store: Option<String>,
    },
    /// An AWS service acting on its own (an EC2 instance profile, a
    /// Lambda execution role...).
    AwsService {
        /// The service principal.
        service: String,
    },
    /// The issuing call is not in the index.
    Unknown {
        /// What was looked for and not found.
        looked_for: String,
        /// The source identity the last hop carried, which names who
        /// started the chain even when its first calls are not indexed.
        source_identity: Option<String>,
    },
    /// The chain leads back to a call already on it.
    Loop {
        /// The event met twice.
        event_id: String,
    },
    /// More hops than [`MAX_HOPS`].
    TooLong,
}

impl Origin {
    /// Whether the chain ends on someone: a person or a service.
    pub fn is_known(&self) -> bool {
        !matches!(
            self,
            Origin::Unknown { .. } | Origin::Loop { .. } | Origin::TooLong
        )
    }
}

/// What to look for to go one hop back from an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The call that issued these credentials, logged at or before `before`.
    Issuing {
        /// `userIdentity.accessKeyId`, when the event has one.
        access_key: Option<String>,
        /// The session ARN and its creation time: console and Identity
        /// Center sessions are used with another key than the one issued.
        session: Option<(String, DateTime<Utc>)>,
        /// The event's time.
        before: DateTime<Utc>,
    },
    /// The caller's copy of a cross-account call, logged in the caller's
    /// account under the same `sharedEventID`.
    CallerCopy {
        /// `sharedEventID`.
        shared_event_id: String,
        /// The account the caller is in.
        account: Option<String>,
    },
    /// The chain ends here.
    End(Origin),
}

fn event_time(event: &Value) -> Option<DateTime<Utc>> {
    let text = event["eventTime"].as_str()?;
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// One hop back from `event`: the identity that made it either is an end
/// (a person, a service) or names credentials someone issued.
pub fn next_step(event: &Value) -> Step {
    let identity = &event["userIdentity"];
    let kind = identity["type"].as_str().unwrap_or_default();
    let key = text(&identity["accessKeyId"]);
    let unknown = |looked_for: String| {
        Step::End(Origin::Unknown {
            looked_for,
            source_identity: text(&identity["sessionContext"]["sourceIdentity"]),
        })
    };
    match kind {
        "IAMUser" => Step::End(Origin::IamUser {
            name: text(&identity["userName"])
                .or_else(|| text(&identity["arn"]))
                .unwrap_or_else(|| "-".into()),
            arn: text(&identity["arn"]),
        }),
        "Root" => Step::End(Origin::Root {
            account: text(&identity["accountId"]).or_else(|| text(&event["recipientAccountId"])),
        }),
        "SAMLUser" => {
            let subject = text(&event["responseElements"]["subject"])
                .or_else(|| text(&identity["userName"]))
                .or_else(|| text(&identity["principalId"]))
                .unwrap_or_else(|| "-".into());
            let provider = text(&event["requestParameters"]["principalArn"])
                .or_else(|| text(&identity["identityProvider"]));
            // IAM Identity Center signs its users into member accounts through
            // a SAML provider of its own, AWSSSO_..._DO_NOT_DELETE.
            match provider
                .as_deref()
                .is_some_and(|p| p.contains(":saml-provider/AWSSSO_"))
            {
                true => Step::End(Origin::IdentityCenterUser {
                    user: subject,
                    identity_store: None,
                }),
                false => Step::End(Origin::SamlUser { subject, provider }),
            }
        }
        "WebIdentityUser" => Step::End(Origin::WebIdentityUser {
            subject: text(&event["responseElements"]["subjectFromWebIdentityToken"])
                .or_else(|| text(&identity["userName"]))
                .or_else(|| text(&identity["principalId"]))
                .unwrap_or_else(|| "-".into()),
            provider: text(&event["responseElements"]["provider"])
                .or_else(|| text(&identity["identityProvider"])),
        }),
        "IdentityCenterUser" => Step::End(Origin::IdentityCenterUser {
            user: text(&identity["userName"])
                .or_else(|| text(&identity["onBehalfOf"]["userId"]))
                .or_else(|| text(&identity["principalId"]))
                .unwrap_or_else(|| "-".into()),
            identity_store: text(&identity["onBehalfOf"]["identityStoreArn"]),
        }),
        "AWSService" => Step::End(Origin::AwsService {
            service: text(&identity["invokedBy"]).unwrap_or_else(|| "-".into()),
        }),
        // The role owner's copy of a cross-account call names only the
        // caller's account: the caller is in that account's copy.
        "AWSAccount" => match text(&event["sharedEventID"]) {
            Some(shared_event_id) => Step::CallerCopy {
                shared_event_id,
                account: text(&identity["accountId"]),
            },
            None => unknown(format!(
                "the caller in account {} (the record names no sharedEventID)",
                text(&identity["accountId"]).unwrap_or_else(|| "-".into())
            )),
        },
        "AssumedRole" | "FederatedUser" => {
            let session = text(&identity["arn"]).zip(
                identity["sessionContext"]["attributes"]["creationDate"]
                    .as_str()
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| t.with_timezone(&Utc)),
            );
            match (key.is_some() || session.is_some(), event_time(event)) {
                (true, Some(before)) => Step::Issuing {
                    access_key: key,
                    session,
                    before,
                },
                _ => unknown("the credentials' issuing call (the record names no access key)".into()),
            }
        }
        other => unknown(format!(
            "who {} is (userIdentity.type {other:?})",
            text(&identity["arn"]).unwrap_or_else(|| "the caller".into())
        )),
    }
}

/// Where a session ends when the call that issued it is not indexed but
/// the session itself says who it is for: an IAM Identity Center
/// permission-set role (`AWSReservedSSO_*`, its sessions named after the
/// user) or a session acting on behalf of an Identity Center user
/// (`onBehalfOf`).
pub fn session_origin(event: &Value) -> Option<Origin> {
    let identity = &event["userIdentity"];
    let store = text(&identity["onBehalfOf"]["identityStoreArn"]);
    let issuer = identity["sessionContext"]["sessionIssuer"]["userName"]
        .as_str()
        .unwrap_or_default();
    if issuer.starts_with("AWSReservedSSO_") {
        let session = text(&identity["arn"]).and_then(|arn| arn.rsplit('/').next().map(str::to_string));
        let user = session.or_else(|| text(&identity["onBehalfOf"]["userId"]))?;
        return Some(Origin::IdentityCenterUser {
            user,
            identity_store: store,
        });
    }
    let user = text(&identity["onBehalfOf"]["userId"])?;
    Some(Origin::IdentityCenterUser {
        user,
        identity_store: store,
    })
}

/// The identity store an event's session acts for, if it says.
pub fn identity_store(event: &Value) -> Option<String> {
    text(&event["userIdentity"]["onBehalfOf"]["identityStoreArn"])
}

/// The request for the calls that issued `access_key` up to `before`.
pub fn issued_key_body(access_key: &str, before: &DateTime<Utc>) -> Value {
    json!({
        "size": 10,
        "sort": [{"@timestamp": {"order": "desc"}}],
        "query": {"bool": {"filter": [
            {"term": {"trailsearch.issued_access_key": access_key}},
            {"range": {"@timestamp": {"lte": time(&(*before + Duration::minutes(CLOCK_SKEW_MINUTES)))}}},
        ]}},
    })
}

/// The request for the calls that issued the session `arn` around its
/// creation time.
pub fn issued_session_body(arn: &str, created: &DateTime<Utc>) -> Value {
    let skew = Duration::minutes(CLOCK_SKEW_MINUTES);
    json!({
        "size": 10,
        "sort": [{"@timestamp": {"order": "desc"}}],
        "query": {"bool": {"filter": [
            {"term": {"trailsearch.issued_session": arn}},
            {"range": {"@timestamp": {"gte": time(&(*created - skew)), "lte": time(&(*created + skew))}}},
        ]}},
    })
}

/// The request for every copy of a call logged under `shared_event_id`.
pub fn shared_event_body(shared_event_id: &str) -> Value {
    json!({"size": 10, "query": {"bool": {"filter": [{"term": {"sharedEventID": shared_event_id}}]}}})
}

/// The request for an event by its `eventID`.
pub fn event_body(event_id: &str) -> Value {
    json!({"size": 10, "query": {"bool": {"filter": [{"term": {"eventID": event_id}}]}}})
}

/// The request for the earliest indexed event time: how far back a chain
/// could be followed.
pub fn earliest_body() -> Value {
    json!({"size": 0, "aggs": {"earliest": {"min": {"field": "@timestamp"}}}})
}

/// The hop among the hits of an issuing or shared-event lookup: the
/// caller's own copy of a cross-account call (the role owner's names only
/// an account), else the newest; for a shared event, the copy logged in
/// `account`.
pub fn pick<'a>(hits: &'a [Value], account: Option<&str>) -> Option<&'a Value> {
    let own = |e: &&Value| e["userIdentity"]["type"] != "AWSAccount";
    let in_account = |e: &&Value| account.is_none_or(|a| e["recipientAccountId"] == a);
    hits.iter()
        .find(|e| own(e) && in_account(e))
        .or_else(|| hits.iter().find(own))
        .or_else(|| hits.first())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_identity_type_is_an_end_or_a_step() {
        let at = "2024-03-14T12:07:42Z";
        assert_eq!(
            next_step(
                &json!({"eventTime": at, "userIdentity": {"type": "AssumedRole", "accessKeyId": "ASIA1",
                "arn": "arn:aws:sts::1:assumed-role/r/s",
                "sessionContext": {"attributes": {"creationDate": "2024-03-14T12:05:10Z"}}}})
            ),
            Step::Issuing {
                access_key: Some("ASIA1".into()),
                session: Some((
                    "arn:aws:sts::1:assumed-role/r/s".into(),
                    "2024-03-14T12:05:10Z".parse().unwrap()
                )),
                before: at.parse().unwrap(),
            }
        );
        assert_eq!(
            next_step(
                &json!({"userIdentity": {"type": "SAMLUser", "userName": "carol", "identityProvider": "Q"},
                "requestParameters": {"principalArn": "arn:aws:iam::1:saml-provider/okta"},
                "responseElements": {"subject": "carol@example.com"}})
            ),
            Step::End(Origin::SamlUser {
                subject: "carol@example.com".into(),
                provider: Some("arn:aws:iam::1:saml-provider/okta".into())
            })
        );
        assert_eq!(
            next_step(
                &json!({"sharedEventID": "s1", "userIdentity": {"type": "AWSAccount", "accountId": "1"}})
            ),
            Step::CallerCopy {
                shared_event_id: "s1".into(),
                account: Some("1".into())
            }
        );
        assert_eq!(
            next_step(&json!({"userIdentity": {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}})),
            Step::End(Origin::AwsService {
                service: "ec2.amazonaws.com".into()
            })
        );
        assert!(matches!(
            next_step(&json!({"userIdentity": {"type": "AssumedRole",
                "sessionContext": {"sourceIdentity": "carol"}}})),
            Step::End(Origin::Unknown { source_identity: Some(s), .. }) if s == "carol"
        ));
        assert!(matches!(
            next_step(&json!({"userIdentity": {"type": "Unknown"}})),
            Step::End(Origin::Unknown { .. })
        ));
    }

    #[test]
    fn identity_center_sessions_end_on_their_user() {
        let saml = json!({"userIdentity": {"type": "SAMLUser", "userName": "aidan@example.com"},
            "requestParameters": {"principalArn": "arn:aws:iam::9:saml-provider/AWSSSO_5a1b_DO_NOT_DELETE"}});
        assert_eq!(
            next_step(&saml),
            Step::End(Origin::IdentityCenterUser {
                user: "aidan@example.com".into(),
                identity_store: None
            })
        );
        let session = json!({"userIdentity": {"type": "AssumedRole",
            "arn": "arn:aws:sts::9:assumed-role/AWSReservedSSO_Admin_72/aidan@example.com",
            "sessionContext": {"sessionIssuer": {"userName": "AWSReservedSSO_Admin_72"}},
            "onBehalfOf": {"userId": "u-1", "identityStoreArn": "arn:aws:identitystore::1:identitystore/d-1"}}});
        assert_eq!(
            session_origin(&session),
            Some(Origin::IdentityCenterUser {
                user: "aidan@example.com".into(),
                identity_store: Some("arn:aws:identitystore::1:identitystore/d-1".into())
            })
        );
        assert_eq!(
            session_origin(&json!({"userIdentity": {"type": "AssumedRole",
                "sessionContext": {"sessionIssuer": {"userName": "ops-admin"}}}})),
            None
        );
        assert_eq!(
            next_step(
                &json!({"userIdentity": {"type": "WebIdentityUser", "userName": "x"},
                "responseElements": {"subjectFromWebIdentityToken": "repo:acme/app:ref:refs/heads/main",
                    "provider": "arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com"}})
            ),
            Step::End(Origin::WebIdentityUser {
                subject: "repo:acme/app:ref:refs/heads/main".into(),
                provider: Some("arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com".into())
            })
        );
    }

    #[test]
    fn the_callers_copy_is_the_hop() {
        let owner = json!({"recipientAccountId": "2", "userIdentity": {"type": "AWSAccount"}});
        let caller = json!({"recipientAccountId": "1", "userIdentity": {"type": "AssumedRole"}});
        let hits = [owner.clone(), caller.clone()];
        assert_eq!(pick(&hits, None), Some(&caller));
        assert_eq!(pick(&hits, Some("1")), Some(&caller));
        assert_eq!(pick(std::slice::from_ref(&owner), None), Some(&owner));
        assert_eq!(pick(&[], None), None);
    }
}
