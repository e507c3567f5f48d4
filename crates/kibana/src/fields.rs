//! The catalogue fields the saved objects use, and the check that keeps them
//! in the catalogue.

use trailsearch_mapping::{aggregatable, catalogue_path};

pub(crate) const TIMESTAMP: &str = "@timestamp";
pub(crate) const EVENT_NAME: &str = "eventName";
pub(crate) const EVENT_SOURCE: &str = "eventSource";
pub(crate) const EVENT_TYPE: &str = "eventType";
pub(crate) const AWS_REGION: &str = "awsRegion";
pub(crate) const SOURCE_IP: &str = "sourceIPAddress";
pub(crate) const USER_AGENT: &str = "userAgent";
pub(crate) const ERROR_CODE: &str = "errorCode";
pub(crate) const ERROR_MESSAGE: &str = "errorMessage";
pub(crate) const READ_ONLY: &str = "readOnly";
pub(crate) const ACCOUNT: &str = "recipientAccountId";
pub(crate) const USER_ARN: &str = "userIdentity.arn";
pub(crate) const USER_TYPE: &str = "userIdentity.type";
pub(crate) const INVOKED_BY: &str = "userIdentity.invokedBy";
pub(crate) const OUTCOME: &str = "event.outcome";
pub(crate) const REQUEST: &str = "requestParameters";
pub(crate) const RESPONSE: &str = "responseElements";
pub(crate) const RESOURCE: &str = "trailsearch.resource";
pub(crate) const CONSOLE_LOGIN: &str = "trailsearch.console_login";
pub(crate) const MFA: &str = "trailsearch.mfa";
pub(crate) const ACTOR: &str = "trailsearch.actor";
pub(crate) const SOURCE_KIND: &str = "trailsearch.source.kind";
pub(crate) const SOURCE_KEY: &str = "trailsearch.source.key";
pub(crate) const INTEGRITY: &str = "trailsearch.integrity";
pub(crate) const CLIENT: &str = "trailsearch.client";
pub(crate) const AGENT_NAME: &str = "user_agent.name";
pub(crate) const COUNTRY_NAME: &str = "source.geo.country_name";
pub(crate) const COUNTRY_CODE: &str = "source.geo.country_iso_code";
pub(crate) const LOCATION: &str = "source.geo.location";
pub(crate) const AS_ORGANIZATION: &str = "source.as.organization.name";
pub(crate) const AS_NUMBER: &str = "source.as.number";

/// A catalogue field, for use in a saved object: a field renamed in the
/// catalogue cannot leave a saved object pointing at the old name.
pub(crate) fn field(path: &'static str) -> &'static str {
    assert!(
        catalogue_path(path),
        "saved objects use {path:?}, which the field catalogue does not define"
    );
    path
}

/// A catalogue field a saved object buckets or sorts on: one with doc values.
pub(crate) fn aggregated_field(path: &'static str) -> &'static str {
    assert!(
        aggregatable(field(path)),
        "saved objects aggregate on {path:?}, which the index keeps no doc values for"
    );
    path
}
