//! The field catalogue: every field the index knows, with the JSON shape it
//! expects. Templates, shaping checks and search all read this one list.

/// How a field is indexed, and so which JSON values it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldType {
    /// Exact-match string (numbers and booleans are accepted and coerced).
    Keyword,
    /// A keyword looked up by exact value but never sorted on or aggregated
    /// (request and session identifiers, access keys): no doc values, which
    /// for random identifiers cost as much as the terms themselves.
    Identifier,
    /// Analysed text with a `.keyword` sub-field for exact matches.
    Text,
    /// A timestamp.
    Date,
    /// An IPv4 or IPv6 address.
    Ip,
    /// `true`/`false` (or their strings).
    Boolean,
    /// A whole number (64-bit).
    Long,
    /// A point on the map: `{"lat": .., "lon": ..}`.
    GeoPoint,
    /// An object of any shape, every leaf searchable: `flattened` /
    /// `flat_object`, or unindexed plus a text copy on older clusters.
    FreeShaped,
    /// An object with known sub-fields; unknown sub-fields map dynamically.
    Object(&'static [Field]),
    /// An array of objects with known sub-fields (a single object is fine too).
    ObjectArray(&'static [Field]),
    /// No storage of its own: an alias for the field at this path.
    Alias(&'static str),
}

impl FieldType {
    /// Whether it takes any scalar (strings, numbers and booleans, coerced
    /// to a string) or an array of them.
    pub(crate) const fn takes_scalars(self) -> bool {
        matches!(self, FieldType::Keyword | FieldType::Identifier | FieldType::Text)
    }
}

/// One field of the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The field's name within its parent object.
    pub name: &'static str,
    /// How it is indexed.
    pub ty: FieldType,
}

const fn f(name: &'static str, ty: FieldType) -> Field {
    Field { name, ty }
}

use FieldType::*;

const SESSION_ISSUER: &[Field] = &[
    f("type", Keyword),
    f("principalId", Keyword),
    f("arn", Keyword),
    f("accountId", Keyword),
    f("userName", Keyword),
];

// `creationDate` stays a keyword: a malformed date there must not cost the event.
const SESSION_ATTRIBUTES: &[Field] = &[f("creationDate", Keyword), f("mfaAuthenticated", Keyword)];

const SESSION_CONTEXT: &[Field] = &[
    f("sessionIssuer", Object(SESSION_ISSUER)),
    f("attributes", Object(SESSION_ATTRIBUTES)),
    f("webIdFederationData", FreeShaped),
    f("sourceIdentity", Keyword),
    f("ec2RoleDelivery", Keyword),
];

const USER_IDENTITY: &[Field] = &[
    f("type", Keyword),
    f("principalId", Identifier),
    f("arn", Keyword),
    f("accountId", Keyword),
    f("accessKeyId", Identifier),
    f("userName", Keyword),
    f("invokedBy", Keyword),
    f("identityProvider", Keyword),
    f("credentialId", Keyword),
    f("sessionContext", Object(SESSION_CONTEXT)),
    f("onBehalfOf", FreeShaped),
    f("inScopeOf", FreeShaped),
];

const RESOURCE: &[Field] = &[f("ARN", Keyword), f("accountId", Keyword), f("type", Keyword)];

const TLS_DETAILS: &[Field] = &[
    f("tlsVersion", Keyword),
    f("cipherSuite", Keyword),
    f("clientProvidedHostHeader", Keyword),
];

/// CloudTrail's own top-level fields, under CloudTrail's own names.
pub const CLOUDTRAIL_FIELDS: &[Field] = &[
    f("eventVersion", Keyword),
    f("eventTime", Date),
    f("eventSource", Keyword),
    f("eventName", Keyword),
    f("awsRegion", Keyword),
    f("sourceIPAddress", Keyword),
    f("userAgent", Keyword),
    f("errorCode", Keyword),
    f("errorMessage", Text),
    f("requestID", Identifier),
    f("eventID", Keyword),
    f("eventType", Keyword),
    f("eventCategory", Keyword),
    f("apiVersion", Keyword),
    f("readOnly", Boolean),
    f("managementEvent", Boolean),
    f("recipientAccountId", Keyword),
    f("sharedEventID", Identifier),
    f("vpcEndpointId", Keyword),
    f("vpcEndpointAccountId", Keyword),
    f("sessionCredentialFromConsole", Keyword),
    f("userIdentity", Object(USER_IDENTITY)),
    f("resources", ObjectArray(RESOURCE)),
    f("tlsDetails", Object(TLS_DETAILS)),
    f("requestParameters", FreeShaped),
    f("responseElements", FreeShaped),
    f("additionalEventData", FreeShaped),
    f("serviceEventDetails", FreeShaped),
    f("insightDetails", FreeShaped),
    f("edgeDeviceDetails", FreeShaped),
    f("addendum", FreeShaped),
];

const EVENT: &[Field] = &[
    f("outcome", Keyword),
    f("action", Alias("eventName")),
    f("provider", Alias("eventSource")),
    f("id", Alias("eventID")),
];
const GEO: &[Field] = &[
    f("continent_name", Keyword),
    f("country_iso_code", Keyword),
    f("country_name", Keyword),
    f("region_iso_code", Keyword),
    f("region_name", Keyword),
    f("city_name", Keyword),
    f("location", GeoPoint),
];
const AS_ORGANIZATION: &[Field] = &[f("name", Keyword)];
const AUTONOMOUS_SYSTEM: &[Field] = &[f("number", Long), f("organization", Object(AS_ORGANIZATION))];
const SOURCE: &[Field] = &[
    f("ip", Ip),
    f("address", Alias("sourceIPAddress")),
    f("geo", Object(GEO)),
    f("as", Object(AUTONOMOUS_SYSTEM)),
];
const CLOUD_ACCOUNT: &[Field] = &[f("id", Alias("recipientAccountId"))];
const CLOUD: &[Field] = &[
    f("account", Object(CLOUD_ACCOUNT)),
    f("region", Alias("awsRegion")),
];
const USER_AGENT: &[Field] = &[
    f("original", Alias("userAgent")),
    f("name", Keyword),
    f("version", Keyword),
];
const USER: &[Field] = &[f("name", Alias("trailsearch.actor"))];
const ERROR: &[Field] = &[f("code", Alias("errorCode")), f("message", Alias("errorMessage"))];
const TRAILSEARCH_SOURCE: &[Field] = &[
    f("kind", Keyword),
    f("bucket", Keyword),
    f("key", Keyword),
    f("eventbridge_id", Keyword),
    f("log_group", Keyword),
    f("log_stream", Keyword),
    f("stream", Keyword),
    f("sequence_number", Keyword),
];

/// Fields trailsearch adds: `@timestamp`, ECS names (mostly aliases, which
/// cost no storage) and its own `trailsearch.*`. `trailsearch.unindexed` and
/// the compatible flavour's `trailsearch.text` are added by the template.
pub const ADDED_FIELDS: &[Field] = &[
    f("@timestamp", Date),
    f("event", Object(EVENT)),
    f("source", Object(SOURCE)),
    f("cloud", Object(CLOUD)),
    f("user_agent", Object(USER_AGENT)),
    f("user", Object(USER)),
    f("error", Object(ERROR)),
];

/// `trailsearch.*` sub-fields held in documents.
pub const TRAILSEARCH_FIELDS: &[Field] = &[
    f("source", Object(TRAILSEARCH_SOURCE)),
    f("integrity", Keyword),
    f("actor", Keyword),
    f("user_names", Identifier),
    f("resource", Keyword),
    f("resource_names", Identifier),
    f("issued_access_key", Identifier),
    f("issued_session", Identifier),
    f("console_login", Keyword),
    f("mfa", Boolean),
    f("client", Keyword),
    f("degraded", Boolean),
    f("degraded_reasons", Keyword),
    f("normalized", Keyword),
];

/// Whether a top-level name is one trailsearch itself fills.
pub(crate) fn is_reserved(name: &str) -> bool {
    name == "trailsearch" || ADDED_FIELDS.iter().any(|f| f.name == name)
}

/// Looks a top-level CloudTrail field up by name.
pub fn cloudtrail_field(name: &str) -> Option<&'static Field> {
    CLOUDTRAIL_FIELDS.iter().find(|field| field.name == name)
}

/// Names of the free-shaped top-level fields.
pub fn free_shaped_fields() -> impl Iterator<Item = &'static str> {
    CLOUDTRAIL_FIELDS
        .iter()
        .filter(|field| field.ty == FreeShaped)
        .map(|field| field.name)
}

/// What a dotted path names in the catalogue.
enum Found {
    /// A field of its own, or an alias (unresolved).
    Field(&'static Field),
    /// A leaf inside a free-shaped object.
    InsideFreeShaped,
}

/// Looks `path` up: `userIdentity.arn`, `event.outcome`,
/// `trailsearch.source.key`, `requestParameters.groupId`.
fn lookup(path: &str) -> Option<Found> {
    fn walk(fields: &'static [Field], parts: &[&str]) -> Option<Found> {
        let (first, rest) = parts.split_first()?;
        let field = fields.iter().find(|f| f.name == *first)?;
        match (field.ty, rest.is_empty()) {
            (_, true) => Some(Found::Field(field)),
            (FieldType::FreeShaped, false) => Some(Found::InsideFreeShaped),
            (FieldType::Object(children) | FieldType::ObjectArray(children), false) => walk(children, rest),
            _ => None,
        }
    }
    let parts: Vec<&str> = path.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    if parts[0] == "trailsearch" {
        return walk(TRAILSEARCH_FIELDS, &parts[1..]);
    }
    walk(CLOUDTRAIL_FIELDS, &parts).or_else(|| walk(ADDED_FIELDS, &parts))
}

/// Whether a field has doc values to sort and aggregate on: mapped scalars
/// (and aliases of them), not identifiers, analysed text or free-shaped leaves.
pub fn aggregatable(path: &str) -> bool {
    match lookup(path) {
        Some(Found::Field(Field {
            ty: FieldType::Alias(target),
            ..
        })) => aggregatable(target),
        Some(Found::Field(field)) => matches!(
            field.ty,
            FieldType::Keyword
                | FieldType::Date
                | FieldType::Ip
                | FieldType::Boolean
                | FieldType::Long
                | FieldType::GeoPoint
        ),
        _ => false,
    }
}

/// Whether `path` names a field of the catalogue: a mapped field or alias
/// (`userIdentity.arn`, `event.outcome`, `trailsearch.source.key`), or a leaf
/// inside a free-shaped object (`requestParameters.groupId`).
pub fn catalogue_path(path: &str) -> bool {
    lookup(path).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_paths_know_mapped_fields_aliases_and_free_shaped_leaves() {
        for path in [
            "eventName",
            "userIdentity.arn",
            "userIdentity.sessionContext.sessionIssuer.arn",
            "resources.ARN",
            "event.outcome",
            "cloud.account.id",
            "requestParameters.groupId",
            "additionalEventData.MFAUsed",
            "trailsearch.source.key",
        ] {
            assert!(catalogue_path(path), "{path}");
        }
        for path in [
            "eventName",
            "event.action",
            "trailsearch.actor",
            "source.geo.location",
            "eventID",
        ] {
            assert!(aggregatable(path), "{path}");
        }
        for path in [
            "requestID",
            "userIdentity.accessKeyId",
            "errorMessage",
            "requestParameters.groupId",
        ] {
            assert!(!aggregatable(path), "{path}");
        }
        for path in [
            "eventname",
            "userIdentity.nope",
            "eventName.sub",
            "",
            "event.",
            "trailsearch.x",
        ] {
            assert!(!catalogue_path(path), "{path}");
        }
    }
}
