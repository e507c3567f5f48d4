//! Saved objects for Kibana and OpenSearch Dashboards, generated from the
//! mapping crate's field catalogue (this crate knows the products' formats;
//! the mapping crate knows the index): an index pattern over `<prefix>-*`, saved searches
//! (Lucene), aggregation-based visualizations, a map of source locations and
//! two dashboards.
//!
//! The two products get the same objects but for the map, which neither can
//! read in the other's form: Kibana 8 dropped the coordinate map
//! (`tile_map`) for its Maps app (`map` objects), and Dashboards never had
//! Kibana's Maps. Everything else is written once: the attributes are the
//! ones both products map (Dashboards maps saved-object attributes strictly,
//! so nothing Kibana-only is written), the nested JSON strings use the 7.10
//! layout, and every object declares that layout in `migrationVersion`, so
//! Kibana upgrades it with its own migrations on import while Dashboards,
//! which forked at 7.10, takes it as it is. The Kibana map is the exception:
//! it is written in the layout Kibana 8 exports.

use serde_json::{json, Value};

use trailsearch_mapping::{catalogue_path, IndexNaming};

/// A name that is no dashboards product.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a Kibana flavour: use kibana or osd")]
pub struct UnknownFlavour(pub String);

/// Which dashboards product: the one the saved objects are written for, and
/// the one `setup --kibana-url` talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KibanaFlavour {
    /// Kibana (7.10 to 9.x).
    Kibana,
    /// OpenSearch Dashboards (1.x, 2.x, 3.x).
    OpenSearchDashboards,
}

impl KibanaFlavour {
    /// The name `--kibana-flavour` takes: `kibana` or `osd`.
    pub fn name(self) -> &'static str {
        match self {
            KibanaFlavour::Kibana => "kibana",
            KibanaFlavour::OpenSearchDashboards => "osd",
        }
    }

    /// The product's name, for messages.
    pub fn product(self) -> &'static str {
        match self {
            KibanaFlavour::Kibana => "Kibana",
            KibanaFlavour::OpenSearchDashboards => "OpenSearch Dashboards",
        }
    }

    /// The header its API requires on writes (cross-site request forgery
    /// protection): `kbn-xsrf` or `osd-xsrf`.
    pub fn xsrf_header(self) -> &'static str {
        match self {
            KibanaFlavour::Kibana => "kbn-xsrf",
            KibanaFlavour::OpenSearchDashboards => "osd-xsrf",
        }
    }
}

impl std::fmt::Display for KibanaFlavour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for KibanaFlavour {
    type Err = UnknownFlavour;
    fn from_str(s: &str) -> Result<Self, UnknownFlavour> {
        match s {
            "kibana" => Ok(KibanaFlavour::Kibana),
            "osd" | "opensearch-dashboards" => Ok(KibanaFlavour::OpenSearchDashboards),
            other => Err(UnknownFlavour(other.to_string())),
        }
    }
}

/// What a product at a version takes: the objects to send and what to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// Whether Kibana's map goes too.
    pub with_map: bool,
    /// Why something is left out, or why the import may not hold.
    pub warning: Option<String>,
}

/// `major.minor` of a version number (`8.15.3`, `9.0.0-SNAPSHOT`).
fn major_minor(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split(['.', '-']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

/// What to import into `flavour` at `version` (from `GET /api/status`;
/// `None` when it was not told).
///
/// Kibana refuses a whole import when one object is in a layout newer than
/// it knows (422 "belongs to a more recent version of Kibana"): the map is
/// in 8.1's layout, so Kibana 7.10 to 8.0 get everything but the map. Every
/// other object is in the 7.10 layout, which Kibana 7.10 to 9.x migrate on
/// import (Kibana 9 still registers those migrations); older Kibana cannot
/// read it. Dashboards 1 to 3 read the 7.10 layout they forked from.
pub fn choose(flavour: KibanaFlavour, version: Option<&str>) -> Result<Choice, String> {
    let full = Choice {
        with_map: true,
        warning: None,
    };
    let Some(version) = version else {
        return Ok(full);
    };
    let Some((major, minor)) = major_minor(version) else {
        return Ok(Choice {
            with_map: true,
            warning: Some(format!(
                "{} answered version {version:?}, which is no version number: importing everything",
                flavour.product()
            )),
        });
    };
    match (flavour, major, minor) {
        (KibanaFlavour::Kibana, ..=6, _) | (KibanaFlavour::Kibana, 7, ..=9) => Err(format!(
            "Kibana {version} is older than 7.10, the oldest layout the saved objects are written in: \
             upgrade Kibana, or leave out --kibana-url"
        )),
        (KibanaFlavour::Kibana, 7, _) | (KibanaFlavour::Kibana, 8, 0) => Ok(Choice {
            with_map: false,
            warning: Some(format!(
                "Kibana {version} cannot import the \"{MAP_TITLE}\" map (written in Kibana 8.1's layout, \
                 which Kibana before 8.1 refuses, failing the whole import): importing everything else; \
                 the overview dashboard has no map panel. Kibana 8.1 or later takes the map too."
            )),
        }),
        (KibanaFlavour::Kibana, 8..=9, _) => Ok(full),
        (KibanaFlavour::OpenSearchDashboards, 1..=3, _) => Ok(full),
        _ => Ok(Choice {
            with_map: true,
            warning: Some(format!(
                "{} {version} is newer than the versions the saved objects are written for (Kibana 7.10 \
                 to 9.x, OpenSearch Dashboards 1 to 3): importing them all; check what it refuses",
                flavour.product()
            )),
        }),
    }
}

/// The index prefix whose objects carry the plain IDs and titles
/// (`trailsearch-search-resource-deletions`, "Resource deletions").
pub const DEFAULT_KIBANA_PREFIX: &str = "cloudtrail";

/// Field paths the saved objects use. Each is checked against the catalogue
/// when the objects are built ([`catalogue_path`]), so a field renamed in the
/// catalogue cannot leave a saved object pointing at the old name.
mod names {
    pub const TIMESTAMP: &str = "@timestamp";
    pub const EVENT_NAME: &str = "eventName";
    pub const EVENT_SOURCE: &str = "eventSource";
    pub const EVENT_TYPE: &str = "eventType";
    pub const AWS_REGION: &str = "awsRegion";
    pub const SOURCE_IP: &str = "sourceIPAddress";
    pub const USER_AGENT: &str = "userAgent";
    pub const ERROR_CODE: &str = "errorCode";
    pub const ERROR_MESSAGE: &str = "errorMessage";
    pub const READ_ONLY: &str = "readOnly";
    pub const ACCOUNT: &str = "recipientAccountId";
    pub const USER_ARN: &str = "userIdentity.arn";
    pub const USER_TYPE: &str = "userIdentity.type";
    pub const INVOKED_BY: &str = "userIdentity.invokedBy";
    pub const OUTCOME: &str = "event.outcome";
    pub const REQUEST: &str = "requestParameters";
    pub const RESPONSE: &str = "responseElements";
    pub const RESOURCE: &str = "trailsearch.resource";
    pub const CONSOLE_LOGIN: &str = "trailsearch.console_login";
    pub const MFA: &str = "trailsearch.mfa";
    pub const ACTOR: &str = "trailsearch.actor";
    pub const CLIENT: &str = "trailsearch.client";
    pub const AGENT_NAME: &str = "user_agent.name";
    pub const COUNTRY_NAME: &str = "source.geo.country_name";
    pub const COUNTRY_CODE: &str = "source.geo.country_iso_code";
    pub const LOCATION: &str = "source.geo.location";
    pub const AS_ORGANIZATION: &str = "source.as.organization.name";
    pub const AS_NUMBER: &str = "source.as.number";
}
use names::*;

/// A catalogue field, for use in a saved object.
fn field(path: &'static str) -> &'static str {
    assert!(
        catalogue_path(path),
        "saved objects use {path:?}, which the field catalogue does not define"
    );
    path
}

/// `field:(a OR b OR ...)`.
fn any_of(path: &'static str, values: &[&str]) -> String {
    format!("{}:({})", field(path), values.join(" OR "))
}

/// `field:value`.
fn is(path: &'static str, value: &str) -> String {
    format!("{}:{value}", field(path))
}

/// `_exists_:field`.
fn exists(path: &'static str) -> String {
    format!("_exists_:{}", field(path))
}

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

/// The saved searches, in dashboard order.
pub fn saved_searches() -> Vec<SavedSearch> {
    let columns = |list: &[&'static str]| list.iter().map(|c| field(c)).collect::<Vec<_>>();
    let who_what_where = [
        ACTOR,
        EVENT_SOURCE,
        EVENT_NAME,
        RESOURCE,
        SOURCE_IP,
        USER_AGENT,
        REQUEST,
        ERROR_CODE,
    ];
    vec![
        SavedSearch {
            slug: "resource-deletions",
            title: "Resource deletions",
            description: "Delete*, Terminate* and Remove* calls of every service (RDS, EC2, S3, IAM...), \
                          failed attempts included: who deleted what, from where, when.",
            query: any_of(EVENT_NAME, &["Delete*", "Terminate*", "Remove*"]),
            columns: columns(&who_what_where),
        },
        SavedSearch {
            slug: "security-group-changes",
            title: "Security group changes",
            description: "Security group rules authorized, revoked or modified, and groups created or \
                          deleted: who, with what request, and what came back.",
            query: format!(
                "{} AND {}",
                is(EVENT_SOURCE, "ec2.amazonaws.com"),
                any_of(
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
                    ]
                )
            ),
            columns: columns(&[
                ACTOR, USER_ARN, EVENT_NAME, SOURCE_IP, RESOURCE, REQUEST, RESPONSE, ERROR_CODE,
            ]),
        },
        SavedSearch {
            slug: "api-errors",
            title: "API errors",
            description: "Every call that came back with an error code, with the message and the client \
                          that made it.",
            query: exists(ERROR_CODE),
            columns: columns(&[
                ACTOR,
                EVENT_SOURCE,
                EVENT_NAME,
                ERROR_CODE,
                ERROR_MESSAGE,
                CLIENT,
                USER_AGENT,
                SOURCE_IP,
            ]),
        },
        SavedSearch {
            slug: "access-denied",
            title: "Access denied",
            description: "Calls refused for want of permission (AccessDenied, AccessDeniedException, \
                          UnauthorizedOperation, AuthorizationError).",
            query: any_of(
                ERROR_CODE,
                &[
                    "AccessDenied*",
                    "*UnauthorizedOperation",
                    "*UnauthorizedAccess",
                    "AuthorizationError*",
                ],
            ),
            columns: columns(&[
                ACTOR,
                EVENT_SOURCE,
                EVENT_NAME,
                RESOURCE,
                ERROR_CODE,
                ERROR_MESSAGE,
                SOURCE_IP,
                USER_AGENT,
            ]),
        },
        SavedSearch {
            slug: "console-sign-ins",
            title: "Console sign-ins",
            description: "AWS console sign-ins, successful or not, with MFA use.",
            query: is(EVENT_TYPE, "AwsConsoleSignIn"),
            columns: columns(SIGN_IN_COLUMNS),
        },
        SavedSearch {
            slug: "console-sign-in-failures",
            title: "Console sign-in failures",
            description: "Failed AWS console sign-ins.",
            query: format!(
                "{} AND ({} OR {})",
                is(EVENT_TYPE, "AwsConsoleSignIn"),
                is(OUTCOME, "failure"),
                is(CONSOLE_LOGIN, "Failure")
            ),
            columns: columns(SIGN_IN_COLUMNS),
        },
        SavedSearch {
            slug: "root-activity",
            title: "Root account activity",
            description: "Anything done as an account's root user, not on its behalf by an AWS service.",
            query: format!(
                "{} AND NOT {} AND NOT {}",
                is(USER_TYPE, "Root"),
                exists(INVOKED_BY),
                is(EVENT_TYPE, "AwsServiceEvent")
            ),
            columns: columns(&[
                ACCOUNT,
                EVENT_SOURCE,
                EVENT_NAME,
                SOURCE_IP,
                USER_AGENT,
                ERROR_CODE,
            ]),
        },
        SavedSearch {
            slug: "iam-changes",
            title: "IAM changes",
            description: "IAM calls that change something (users, access keys, groups, roles, policies): \
                          every IAM call that is not a Get, List, Generate or Simulate.",
            query: format!(
                "{} AND NOT {}",
                is(EVENT_SOURCE, "iam.amazonaws.com"),
                any_of(EVENT_NAME, &["Get*", "List*", "Generate*", "Simulate*"])
            ),
            columns: columns(&[
                ACTOR, EVENT_NAME, RESOURCE, SOURCE_IP, USER_AGENT, REQUEST, ERROR_CODE,
            ]),
        },
        SavedSearch {
            slug: "cloudtrail-config-tampering",
            title: "CloudTrail and Config tampering",
            description: "Trails stopped, deleted or narrowed, and AWS Config recorders or delivery \
                          channels stopped or deleted.",
            query: format!(
                "{} AND {}",
                any_of(
                    EVENT_SOURCE,
                    &["cloudtrail.amazonaws.com", "config.amazonaws.com"]
                ),
                any_of(
                    EVENT_NAME,
                    &[
                        "StopLogging",
                        "DeleteTrail",
                        "UpdateTrail",
                        "PutEventSelectors",
                        "DeleteConfigurationRecorder",
                        "StopConfigurationRecorder",
                        "DeleteDeliveryChannel",
                    ]
                )
            ),
            columns: columns(&who_what_where),
        },
        SavedSearch {
            slug: "kms-key-disable-deletion",
            title: "KMS keys disabled or scheduled for deletion",
            description: "KMS keys disabled, scheduled for deletion, or with their imported key material \
                          deleted.",
            query: format!(
                "{} AND {}",
                is(EVENT_SOURCE, "kms.amazonaws.com"),
                any_of(
                    EVENT_NAME,
                    &["DisableKey", "ScheduleKeyDeletion", "DeleteImportedKeyMaterial"]
                )
            ),
            columns: columns(&[ACTOR, EVENT_NAME, RESOURCE, SOURCE_IP, USER_AGENT, ERROR_CODE]),
        },
        SavedSearch {
            slug: "s3-bucket-access-changes",
            title: "S3 bucket policy, ACL and public access changes",
            description: "Bucket policies and ACLs put or deleted, and public access blocks changed \
                          (bucket or account).",
            query: format!(
                "{} AND {}",
                is(EVENT_SOURCE, "s3.amazonaws.com"),
                any_of(
                    EVENT_NAME,
                    &[
                        "PutBucketPolicy",
                        "DeleteBucketPolicy",
                        "PutBucketAcl",
                        "PutBucketPublicAccessBlock",
                        "DeleteBucketPublicAccessBlock",
                        "PutAccountPublicAccessBlock",
                        "DeleteAccountPublicAccessBlock",
                    ]
                )
            ),
            columns: columns(&[
                ACTOR, EVENT_NAME, RESOURCE, SOURCE_IP, USER_AGENT, REQUEST, ERROR_CODE,
            ]),
        },
        SavedSearch {
            slug: "network-changes",
            title: "Network changes",
            description: "Network ACLs, route tables, routes, internet/customer/NAT gateways and VPCs \
                          (peering, attributes, ClassicLink) created, changed or deleted.",
            query: format!(
                "{} AND {}",
                is(EVENT_SOURCE, "ec2.amazonaws.com"),
                any_of(
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
                    ]
                )
            ),
            columns: columns(&[
                ACTOR, EVENT_NAME, AWS_REGION, RESOURCE, SOURCE_IP, USER_AGENT, REQUEST, ERROR_CODE,
            ]),
        },
    ]
}

/// The Kibana 7.10 layout every object declares, per type: Dashboards knows
/// no later one, Kibana migrates from it. The map, Kibana's only, is in the
/// layout of Kibana 8.1's last map migration (its layer type names), which
/// every later Kibana still reads.
fn migration_version(kind: &str) -> Value {
    let version = match kind {
        "index-pattern" => "7.6.0",
        "visualization" => "7.10.0",
        "map" => "8.1.0",
        _ => "7.9.3",
    };
    json!({ kind: version })
}

/// The reference name Kibana gives a search source's index pattern.
const INDEX_REF: &str = "kibanaSavedObjectMeta.searchSourceJSON.index";

fn lucene(query: &str) -> Value {
    json!({"query": query, "language": "lucene"})
}

/// A search source over the index pattern: the query and its reference.
fn search_source(query: &str) -> String {
    json!({"query": lucene(query), "filter": [], "indexRefName": INDEX_REF}).to_string()
}

fn index_reference(index_pattern_id: &str) -> Value {
    json!([{"name": INDEX_REF, "type": "index-pattern", "id": index_pattern_id}])
}

fn object(kind: &str, id: &str, attributes: Value, references: Value) -> Value {
    json!({
        "type": kind,
        "id": id,
        "attributes": attributes,
        "references": references,
        "migrationVersion": migration_version(kind),
    })
}

/// IDs and titles for one index prefix: plain for the default prefix, with
/// the prefix otherwise, so several prefixes live side by side in one Kibana.
struct Naming {
    id_base: String,
    title_suffix: String,
    pattern: String,
}

impl Naming {
    fn new(naming: &IndexNaming) -> Self {
        let prefix = naming.prefix();
        let (id_base, title_suffix) = if prefix == DEFAULT_KIBANA_PREFIX {
            ("trailsearch".to_string(), String::new())
        } else {
            (format!("trailsearch-{prefix}"), format!(" [{prefix}]"))
        };
        Naming {
            id_base,
            title_suffix,
            pattern: naming.pattern(),
        }
    }

    fn id(&self, kind: &str, slug: &str) -> String {
        format!("{}-{kind}-{slug}", self.id_base)
    }

    fn title(&self, title: &str) -> String {
        format!("{title}{}", self.title_suffix)
    }
}

// --- visualizations -------------------------------------------------------

fn count_agg() -> Value {
    json!({"id": "1", "enabled": true, "type": "count", "params": {}, "schema": "metric"})
}

fn terms_agg(id: &str, path: &'static str, size: u32, schema: &str) -> Value {
    json!({
        "id": id,
        "enabled": true,
        "type": "terms",
        "params": {
            "field": field(path),
            "orderBy": "1",
            "order": "desc",
            "size": size,
            "otherBucket": false,
            "otherBucketLabel": "Other",
            "missingBucket": false,
            "missingBucketLabel": "Missing",
        },
        "schema": schema,
    })
}

/// A terms agg whose documents without the field still get a row, labelled
/// `label`: a data table drops a parent row whose sub-bucket is empty.
fn terms_agg_with_missing(id: &str, path: &'static str, size: u32, schema: &str, label: &str) -> Value {
    let mut agg = terms_agg(id, path, size, schema);
    agg["params"]["missingBucket"] = json!(true);
    agg["params"]["missingBucketLabel"] = json!(label);
    agg
}

fn date_histogram_agg(id: &str) -> Value {
    json!({
        "id": id,
        "enabled": true,
        "type": "date_histogram",
        "params": {
            "field": field(TIMESTAMP),
            "useNormalizedEsInterval": true,
            "scaleMetricValues": false,
            "interval": "auto",
            "drop_partials": false,
            "min_doc_count": 1,
            "extended_bounds": {},
        },
        "schema": "segment",
    })
}

fn filters_agg(id: &str, filters: &[(&str, String)]) -> Value {
    let filters: Vec<Value> = filters
        .iter()
        .map(|(label, query)| json!({"input": lucene(query), "label": label}))
        .collect();
    json!({
        "id": id,
        "enabled": true,
        "type": "filters",
        "params": {"filters": filters},
        "schema": "segment",
    })
}

fn histogram_params() -> Value {
    json!({
        "type": "histogram",
        "grid": {"categoryLines": false},
        "categoryAxes": [{
            "id": "CategoryAxis-1", "type": "category", "position": "bottom", "show": true, "style": {},
            "scale": {"type": "linear"}, "labels": {"show": true, "filter": true, "truncate": 100}, "title": {},
        }],
        "valueAxes": [{
            "id": "ValueAxis-1", "name": "LeftAxis-1", "type": "value", "position": "left", "show": true,
            "style": {}, "scale": {"type": "linear", "mode": "normal"},
            "labels": {"show": true, "rotate": 0, "filter": false, "truncate": 100}, "title": {"text": "Events"},
        }],
        "seriesParams": [{
            "show": true, "type": "histogram", "mode": "stacked", "data": {"label": "Events", "id": "1"},
            "valueAxis": "ValueAxis-1", "drawLinesBetweenPoints": true, "lineWidth": 2, "showCircles": true,
        }],
        "addTooltip": true,
        "addLegend": true,
        "legendPosition": "right",
        "times": [],
        "addTimeMarker": false,
        "labels": {"show": false},
        "thresholdLine": {"show": false, "value": 10, "width": 1, "style": "full", "color": "#E7664C"},
    })
}

fn table_params() -> Value {
    json!({
        "perPage": 10,
        "showPartialRows": false,
        "showMetricsAtAllLevels": false,
        "sort": {"columnIndex": null, "direction": null},
        "showTotal": false,
        "totalFunc": "sum",
        "percentageCol": "",
    })
}

fn pie_params() -> Value {
    json!({
        "type": "pie",
        "addTooltip": true,
        "addLegend": true,
        "legendPosition": "right",
        "isDonut": true,
        "labels": {"show": false, "values": true, "last_level": true, "truncate": 100},
    })
}

/// A coordinate map's grid: events per geohash cell of the source location,
/// the precision following the zoom.
fn geohash_grid_agg(id: &str) -> Value {
    json!({
        "id": id,
        "enabled": true,
        "type": "geohash_grid",
        "params": {
            "field": field(LOCATION),
            "autoPrecision": true,
            "precision": 2,
            "useGeocentroid": true,
            "isFilteredByCollar": true,
        },
        "schema": "segment",
    })
}

/// Dashboards' coordinate map defaults: scaled circles on a desaturated base
/// map, the world in view.
fn tile_map_params() -> Value {
    json!({
        "colorSchema": "Yellow to Red",
        "mapType": "Scaled Circle Markers",
        "isDesaturated": true,
        "addTooltip": true,
        "heatClusterSize": 1.5,
        "legendPosition": "bottomright",
        "mapZoom": 2,
        "mapCenter": [20, 0],
        "wms": {"enabled": false, "options": {"format": "image/png", "transparent": true}},
    })
}

struct Visualization {
    slug: &'static str,
    title: &'static str,
    description: &'static str,
    vis_type: &'static str,
    params: Value,
    aggs: Vec<Value>,
    query: String,
}

/// The map's slug, title and description, the same in both products.
const MAP_SLUG: &str = "source-locations";
const MAP_TITLE: &str = "Source locations";
const MAP_DESCRIPTION: &str = "Where calls come from: events per area of the source address's location \
                               (GeoIP), clustered as the map zooms. Empty without GeoIP databases.";

fn visualizations(flavour: KibanaFlavour) -> Vec<Visualization> {
    let table = |slug, title, description, buckets: Vec<Value>, query: String| {
        let mut aggs = vec![count_agg()];
        aggs.extend(buckets);
        Visualization {
            slug,
            title,
            description,
            vis_type: "table",
            params: table_params(),
            aggs,
            query,
        }
    };
    let mut list = vec![
        Visualization {
            slug: "events-over-time",
            title: "Events over time",
            description: "Events per interval, stacked by outcome (success, failure).",
            vis_type: "histogram",
            params: histogram_params(),
            aggs: vec![
                count_agg(),
                date_histogram_agg("2"),
                terms_agg("3", OUTCOME, 3, "group"),
            ],
            query: String::new(),
        },
        table(
            "top-event-names",
            "Top event names",
            "The most frequent API calls.",
            vec![terms_agg("2", EVENT_NAME, 20, "bucket")],
            String::new(),
        ),
        table(
            "top-users",
            "Top users",
            "The most active identities (user, role session or service ARN).",
            vec![terms_agg("2", USER_ARN, 20, "bucket")],
            String::new(),
        ),
        table(
            "top-source-ips",
            "Top source IPs",
            "Where calls come from: addresses, or the AWS service that made the call.",
            vec![terms_agg("2", SOURCE_IP, 20, "bucket")],
            String::new(),
        ),
        table(
            "errors-by-code",
            "Errors by code",
            "Failed calls by error code, and the services returning them.",
            vec![
                terms_agg("2", ERROR_CODE, 20, "bucket"),
                terms_agg("3", EVENT_SOURCE, 5, "bucket"),
            ],
            exists(ERROR_CODE),
        ),
        table(
            "events-by-account-region",
            "Events by account and region",
            "Events per account, and per region within each account.",
            vec![
                terms_agg("2", ACCOUNT, 20, "bucket"),
                terms_agg("3", AWS_REGION, 20, "bucket"),
            ],
            String::new(),
        ),
        table(
            "user-agents",
            "User agents",
            "The clients making the calls: SDKs, CLIs, the console, AWS services.",
            vec![terms_agg("2", USER_AGENT, 20, "bucket")],
            String::new(),
        ),
        Visualization {
            slug: "read-vs-write",
            title: "Read vs write",
            description: "Read-only calls against calls that change something (readOnly); events \
                          without readOnly (some service events) on their own.",
            vis_type: "pie",
            params: pie_params(),
            aggs: vec![
                count_agg(),
                filters_agg(
                    "2",
                    &[
                        ("Read", is(READ_ONLY, "true")),
                        ("Write", is(READ_ONLY, "false")),
                        ("No readOnly field", format!("NOT {}", exists(READ_ONLY))),
                    ],
                ),
            ],
            query: String::new(),
        },
        table(
            "top-countries",
            "Top countries",
            "Countries the calls come from (GeoIP of the source address; AWS services and private \
             addresses have none).",
            vec![
                terms_agg("2", COUNTRY_NAME, 20, "bucket"),
                terms_agg("3", COUNTRY_CODE, 1, "bucket"),
            ],
            String::new(),
        ),
        table(
            "top-networks",
            "Top networks (AS)",
            "The networks the calls come from: the autonomous system's organization and number.",
            vec![
                terms_agg("2", AS_ORGANIZATION, 20, "bucket"),
                terms_agg("3", AS_NUMBER, 5, "bucket"),
            ],
            String::new(),
        ),
        table(
            "clients",
            "Clients",
            "Console against scripts: the kind of client (console, aws-cli, sdk, terraform, \
             cloudformation, aws-service, other) and the tool the user agent names.",
            vec![
                terms_agg("2", CLIENT, 10, "bucket"),
                terms_agg_with_missing("3", AGENT_NAME, 10, "bucket", "(not named)"),
            ],
            String::new(),
        ),
        table(
            "top-actors",
            "Top actors",
            "The most active actors: one name per identity whatever its type (IAM user, role/session, \
             root, federated user, AWS service).",
            vec![terms_agg("2", ACTOR, 20, "bucket")],
            String::new(),
        ),
        table(
            "top-resources",
            "Top resources touched",
            "The resources calls name most (the DB instance, security group, key, bucket, function... \
             of each call), and the calls made on each.",
            vec![
                terms_agg("2", RESOURCE, 20, "bucket"),
                terms_agg("3", EVENT_NAME, 10, "bucket"),
            ],
            String::new(),
        ),
    ];
    if flavour == KibanaFlavour::OpenSearchDashboards {
        list.push(Visualization {
            slug: MAP_SLUG,
            title: MAP_TITLE,
            description: MAP_DESCRIPTION,
            vis_type: "tile_map",
            params: tile_map_params(),
            aggs: vec![count_agg(), geohash_grid_agg("2")],
            query: String::new(),
        });
    }
    list
}

/// The reference name Kibana gives the map's second layer's index pattern.
const MAP_INDEX_REF: &str = "layer_1_source_index_pattern";

/// Kibana's map of source locations: a base map and a clusters layer, events
/// per grid cell of `source.geo.location` (Kibana's Maps run a
/// `geotile_grid` for it), sized and labelled by count.
fn kibana_map(naming: &Naming, index_pattern_id: &str) -> Value {
    let layers = json!([
        {
            "id": "base-map",
            "label": null,
            "type": "EMS_VECTOR_TILE",
            "sourceDescriptor": {
                "type": "EMS_TMS",
                "isAutoSelect": true,
                "lightModeDefault": "road_map_desaturated",
            },
            "style": {"type": "EMS_VECTOR_TILE", "color": ""},
            "minZoom": 0,
            "maxZoom": 24,
            "alpha": 1,
            "visible": true,
            "includeInFitToBounds": true,
        },
        {
            "id": "source-locations",
            "label": "Events by source location",
            "type": "GEOJSON_VECTOR",
            "sourceDescriptor": {
                "type": "ES_GEO_GRID",
                "id": "source-locations-grid",
                "geoField": field(LOCATION),
                "requestType": "point",
                "resolution": "COARSE",
                "metrics": [{"type": "count", "label": "Events"}],
                "applyGlobalQuery": true,
                "applyGlobalTime": true,
                "applyForceRefresh": true,
                "indexPatternRefName": MAP_INDEX_REF,
            },
            "style": {
                "type": "VECTOR",
                "isTimeAware": true,
                "properties": {
                    "icon": {"type": "STATIC", "options": {"value": "marker"}},
                    "fillColor": {"type": "DYNAMIC", "options": {
                        "color": "Blues",
                        "type": "ORDINAL",
                        "field": {"name": "doc_count", "origin": "source"},
                        "fieldMetaOptions": {"isEnabled": true, "sigma": 3},
                    }},
                    "lineColor": {"type": "STATIC", "options": {"color": "#FFFFFF"}},
                    "lineWidth": {"type": "STATIC", "options": {"size": 1}},
                    "iconSize": {"type": "DYNAMIC", "options": {
                        "minSize": 7,
                        "maxSize": 32,
                        "field": {"name": "doc_count", "origin": "source"},
                        "fieldMetaOptions": {"isEnabled": true, "sigma": 3},
                    }},
                    "labelText": {
                        "type": "DYNAMIC",
                        "options": {"field": {"name": "doc_count", "origin": "source"}},
                    },
                },
            },
            "joins": [],
            "minZoom": 0,
            "maxZoom": 24,
            "alpha": 0.85,
            "visible": true,
            "includeInFitToBounds": true,
        },
    ]);
    // No time range of its own, like the dashboards: the time picker's.
    let state = json!({
        "zoom": 1.2,
        "center": {"lon": 0, "lat": 20},
        "query": lucene(""),
        "filters": [],
        "settings": {"autoFitToDataBounds": false},
    });
    object(
        "map",
        &naming.id("map", MAP_SLUG),
        json!({
            "title": naming.title(MAP_TITLE),
            "description": MAP_DESCRIPTION,
            "mapStateJSON": state.to_string(),
            "layerListJSON": layers.to_string(),
            "uiStateJSON": json!({"isLayerTOCOpen": true, "openTOCDetails": []}).to_string(),
        }),
        json!([{"name": MAP_INDEX_REF, "type": "index-pattern", "id": index_pattern_id}]),
    )
}

// --- dashboards -------------------------------------------------------------

/// A panel: what it shows and where (Kibana's 48-column grid).
struct Panel {
    kind: &'static str,
    id: String,
    x: u32,
    y: u32,
    w: u32,
    h: u32,
}

/// A filter a dashboard carries, disabled: one click turns it on.
struct DashboardFilter {
    alias: &'static str,
    key: &'static str,
    value: Value,
    negate: bool,
}

fn dashboard(
    naming: &Naming,
    index_pattern_id: &str,
    slug: &str,
    title: &str,
    description: &str,
    panels: &[Panel],
    filters: &[DashboardFilter],
) -> Value {
    let mut references = Vec::new();
    let panels_json: Vec<Value> = panels
        .iter()
        .enumerate()
        .map(|(i, panel)| {
            let name = format!("panel_{i}");
            references.push(json!({"name": name, "type": panel.kind, "id": panel.id}));
            let index = (i + 1).to_string();
            json!({
                "version": "7.9.3",
                "type": panel.kind,
                "gridData": {"x": panel.x, "y": panel.y, "w": panel.w, "h": panel.h, "i": index},
                "panelIndex": index,
                "embeddableConfig": {},
                "panelRefName": name,
            })
        })
        .collect();
    let filters_json: Vec<Value> = filters
        .iter()
        .enumerate()
        .map(|(i, filter)| {
            let name = format!("kibanaSavedObjectMeta.searchSourceJSON.filter[{i}].meta.index");
            references.push(json!({"name": name, "type": "index-pattern", "id": index_pattern_id}));
            let key = field(filter.key);
            json!({
                "meta": {
                    "alias": filter.alias,
                    "negate": filter.negate,
                    "disabled": true,
                    "type": "phrase",
                    "key": key,
                    "params": {"query": filter.value},
                    "indexRefName": name,
                },
                "query": {"match_phrase": {key: filter.value}},
                "$state": {"store": "appState"},
            })
        })
        .collect();
    let search_source = json!({"query": lucene(""), "filter": filters_json}).to_string();
    object(
        "dashboard",
        &naming.id("dashboard", slug),
        json!({
            "title": naming.title(title),
            "description": description,
            "panelsJSON": Value::Array(panels_json).to_string(),
            "optionsJSON": json!({"useMargins": true, "hidePanelTitles": false}).to_string(),
            "timeRestore": false,
            "version": 1,
            "kibanaSavedObjectMeta": {"searchSourceJSON": search_source},
        }),
        Value::Array(references),
    )
}

/// Every saved object for one product, dependencies first: the index
/// pattern, the saved searches, the visualizations (for Dashboards, the
/// coordinate map among them), Kibana's map, the dashboards.
pub fn saved_objects(index_naming: &IndexNaming, flavour: KibanaFlavour) -> Vec<Value> {
    saved_objects_for(index_naming, flavour, true)
}

/// The saved objects, without Kibana's map when `with_map` is false (for
/// Kibana before 8.1, which refuses the map's layout and with it the whole
/// import); the overview dashboard then has no map panel.
pub fn saved_objects_for(index_naming: &IndexNaming, flavour: KibanaFlavour, with_map: bool) -> Vec<Value> {
    let naming = Naming::new(index_naming);
    let index_pattern_id = format!("{}-index-pattern", naming.id_base);
    let mut objects = vec![object(
        "index-pattern",
        &index_pattern_id,
        json!({
            "title": naming.pattern,
            "timeFieldName": field(TIMESTAMP),
            // Empty: both products read the field list from the cluster.
            "fields": "[]",
        }),
        json!([]),
    )];

    let searches = saved_searches();
    for search in &searches {
        objects.push(object(
            "search",
            &naming.id("search", search.slug),
            json!({
                "title": naming.title(search.title),
                "description": search.description,
                "columns": search.columns,
                "sort": [[field(TIMESTAMP), "desc"]],
                "version": 1,
                "kibanaSavedObjectMeta": {"searchSourceJSON": search_source(&search.query)},
            }),
            index_reference(&index_pattern_id),
        ));
    }

    let visualizations = visualizations(flavour);
    for vis in &visualizations {
        let title = naming.title(vis.title);
        let vis_state = json!({
            "title": title,
            "type": vis.vis_type,
            "params": vis.params,
            "aggs": vis.aggs,
        });
        objects.push(object(
            "visualization",
            &naming.id("vis", vis.slug),
            json!({
                "title": title,
                "description": vis.description,
                "visState": vis_state.to_string(),
                "uiStateJSON": "{}",
                "version": 1,
                "kibanaSavedObjectMeta": {"searchSourceJSON": search_source(&vis.query)},
            }),
            index_reference(&index_pattern_id),
        ));
    }

    let vis = |slug: &str, x, y, w, h| Panel {
        kind: "visualization",
        id: naming.id("vis", slug),
        x,
        y,
        w,
        h,
    };
    let with_map = with_map || flavour == KibanaFlavour::OpenSearchDashboards;
    let map_panel = |x, y, w, h| match flavour {
        KibanaFlavour::Kibana => Panel {
            kind: "map",
            id: naming.id("map", MAP_SLUG),
            x,
            y,
            w,
            h,
        },
        KibanaFlavour::OpenSearchDashboards => vis(MAP_SLUG, x, y, w, h),
    };
    if flavour == KibanaFlavour::Kibana && with_map {
        objects.push(kibana_map(&naming, &index_pattern_id));
    }
    // Who, from where and with what in the middle; the errors' detail last.
    let overview: Vec<Panel> = [
        vis("events-over-time", 0, 0, 48, 12),
        vis("read-vs-write", 0, 12, 16, 13),
        vis("errors-by-code", 16, 12, 32, 13),
        vis("top-event-names", 0, 25, 16, 16),
        vis("top-actors", 16, 25, 16, 16),
        vis("top-users", 32, 25, 16, 16),
        map_panel(0, 41, 28, 20),
        vis("top-countries", 28, 41, 20, 10),
        vis("top-networks", 28, 51, 20, 10),
        vis("top-source-ips", 0, 61, 14, 14),
        vis("clients", 14, 61, 14, 14),
        vis("events-by-account-region", 28, 61, 20, 14),
        vis("user-agents", 0, 75, 24, 12),
        vis("top-resources", 24, 75, 24, 12),
        Panel {
            kind: "search",
            id: naming.id("search", "api-errors"),
            x: 0,
            y: 87,
            w: 48,
            h: 16,
        },
    ]
    .into_iter()
    .filter(|panel| with_map || panel.kind != "map")
    .collect();
    objects.push(dashboard(
        &naming,
        &index_pattern_id,
        "overview",
        "CloudTrail overview",
        "What happens in the accounts: events over time by outcome, who calls what, from where (map, \
         countries, networks) and with what client, errors, read vs write.",
        &overview,
        &[],
    ));

    // Who and with what for whatever the filters keep, above the searches.
    let mut investigation = vec![
        vis("events-over-time", 0, 0, 48, 10),
        vis("top-actors", 0, 10, 16, 12),
        vis("top-resources", 16, 10, 16, 12),
        vis("clients", 32, 10, 16, 12),
    ];
    for (i, search) in searches.iter().enumerate() {
        let i = i as u32;
        investigation.push(Panel {
            kind: "search",
            id: naming.id("search", search.slug),
            x: (i % 2) * 24,
            y: 22 + (i / 2) * 15,
            w: 24,
            h: 15,
        });
    }
    let filters = [
        DashboardFilter {
            alias: "Writes only",
            key: READ_ONLY,
            value: json!(false),
            negate: false,
        },
        DashboardFilter {
            alias: "Failures only",
            key: OUTCOME,
            value: json!("failure"),
            negate: false,
        },
        DashboardFilter {
            alias: "Not AWS services",
            key: USER_TYPE,
            value: json!("AWSService"),
            negate: true,
        },
    ];
    objects.push(dashboard(
        &naming,
        &index_pattern_id,
        "investigation",
        "CloudTrail investigation",
        "The saved searches side by side: deletions, security groups, errors, access denied, sign-ins, \
         root, IAM, CloudTrail/Config, KMS, S3 access, network, under the actors and clients of what they \
         show and the resources they touch. The filters (off until clicked) narrow every panel to writes, failures, or people rather \
         than AWS services.",
        &investigation,
        &filters,
    ));
    objects
}

/// The saved objects as NDJSON: one object per line, each line ending in a
/// newline; the bytes are the same on every run.
pub fn saved_objects_ndjson(index_naming: &IndexNaming, flavour: KibanaFlavour) -> String {
    ndjson(&saved_objects(index_naming, flavour))
}

/// Objects as NDJSON, one per line.
pub fn ndjson(objects: &[Value]) -> String {
    let mut out = String::new();
    for object in objects {
        out.push_str(&object.to_string());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_version_gets_what_it_can_import() {
        let kibana = |v: &str| choose(KibanaFlavour::Kibana, Some(v));
        assert!(kibana("7.9.3").unwrap_err().contains("older than 7.10"));
        for old in ["7.10.2", "7.17.18", "8.0.1"] {
            let choice = kibana(old).unwrap();
            assert!(!choice.with_map, "{old}");
            assert!(choice
                .warning
                .unwrap()
                .contains("Kibana 8.1 or later takes the map too"));
        }
        for current in ["8.1.0", "8.15.3", "8.19.4", "9.1.2", "9.0.0-SNAPSHOT"] {
            assert_eq!(
                kibana(current).unwrap(),
                Choice {
                    with_map: true,
                    warning: None
                },
                "{current}"
            );
        }
        assert!(kibana("10.0.0").unwrap().warning.unwrap().contains("newer than"));
        assert!(choose(KibanaFlavour::OpenSearchDashboards, Some("2.17.0"))
            .unwrap()
            .warning
            .is_none());
        assert!(choose(KibanaFlavour::Kibana, None).unwrap().with_map);
        assert!(kibana("banana").unwrap().warning.is_some());
        // Without the map, nothing refers to it.
        let naming = IndexNaming::new("cloudtrail", trailsearch_mapping::Granularity::Day).unwrap();
        let objects = saved_objects_for(&naming, KibanaFlavour::Kibana, false);
        assert_eq!(
            objects.len(),
            saved_objects(&naming, KibanaFlavour::Kibana).len() - 1
        );
        assert!(!ndjson(&objects).contains("\"map\""));
    }

    #[test]
    fn other_prefixes_carry_their_prefix_in_ids_and_titles() {
        let naming = IndexNaming::new("prod-ct", trailsearch_mapping::Granularity::Day).unwrap();
        let objects = saved_objects(&naming, KibanaFlavour::Kibana);
        assert_eq!(objects[0]["attributes"]["title"], "prod-ct-*");
        assert_eq!(objects[0]["id"], "trailsearch-prod-ct-index-pattern");
        assert!(objects
            .iter()
            .all(|o| o["id"].as_str().unwrap().starts_with("trailsearch-prod-ct-")));
        let dashboard = objects.last().unwrap();
        assert_eq!(
            dashboard["attributes"]["title"],
            "CloudTrail investigation [prod-ct]"
        );
    }
}
