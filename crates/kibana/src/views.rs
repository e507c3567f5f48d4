//! The visualizations: a table of aggregation-based views, from which each
//! visState's aggregations and params are written.

use std::iter;

use serde_json::{json, Value};

use crate::fields::*;
use crate::map::{MAP_DESCRIPTION, MAP_SLUG, MAP_TITLE};
use crate::objects::{index_reference, lucene, object, search_source, Naming};
use crate::query::Query::{self, Exists, Is, Not};
use crate::KibanaFlavour;

/// A terms bucket: the top `size` values of a field.
struct Terms {
    field: &'static str,
    size: u32,
    /// The label of the bucket of documents without the field, if they get one.
    missing: Option<&'static str>,
}

const fn top(field: &'static str, size: u32) -> Terms {
    Terms {
        field,
        size,
        missing: None,
    }
}

/// Terms whose documents without the field still get a row, labelled
/// `label`: a data table drops a parent row whose sub-bucket is empty.
const fn top_or_missing(field: &'static str, size: u32, label: &'static str) -> Terms {
    Terms {
        field,
        size,
        missing: Some(label),
    }
}

/// What a view draws, and so its visualization type and aggregations.
enum Chart {
    /// Events per interval, stacked by the terms of a field.
    Histogram(Terms),
    /// A row per bucket, each level of terms splitting the one before.
    Table(&'static [Terms]),
    /// A slice per labelled query.
    Pie(&'static [(&'static str, Query)]),
    /// Dashboards' coordinate map of source locations.
    TileMap,
}

/// One visualization: what it draws over which events.
struct View {
    slug: &'static str,
    title: &'static str,
    description: &'static str,
    chart: Chart,
    /// The events it counts, all of them when `None`.
    query: Option<Query>,
}

const fn table(
    slug: &'static str,
    title: &'static str,
    description: &'static str,
    levels: &'static [Terms],
) -> View {
    View {
        slug,
        title,
        description,
        chart: Chart::Table(levels),
        query: None,
    }
}

/// The visualizations, dependencies of the dashboards; the coordinate map,
/// last, is Dashboards' only.
const VIEWS: &[View] = &[
    View {
        slug: "events-over-time",
        title: "Events over time",
        description: "Events per interval, stacked by outcome (success, failure).",
        chart: Chart::Histogram(top(OUTCOME, 3)),
        query: None,
    },
    table(
        "top-event-names",
        "Top event names",
        "The most frequent API calls.",
        &[top(EVENT_NAME, 20)],
    ),
    table(
        "top-users",
        "Top users",
        "The most active identities (user, role session or service ARN).",
        &[top(USER_ARN, 20)],
    ),
    table(
        "top-source-ips",
        "Top source IPs",
        "Where calls come from: addresses, or the AWS service that made the call.",
        &[top(SOURCE_IP, 20)],
    ),
    View {
        query: Some(Exists(ERROR_CODE)),
        ..table(
            "errors-by-code",
            "Errors by code",
            "Failed calls by error code, and the services returning them.",
            &[top(ERROR_CODE, 20), top(EVENT_SOURCE, 5)],
        )
    },
    table(
        "events-by-account-region",
        "Events by account and region",
        "Events per account, and per region within each account.",
        &[top(ACCOUNT, 20), top(AWS_REGION, 20)],
    ),
    table(
        "user-agents",
        "User agents",
        "The clients making the calls: SDKs, CLIs, the console, AWS services.",
        &[top(USER_AGENT, 20)],
    ),
    View {
        slug: "read-vs-write",
        title: "Read vs write",
        description: "Read-only calls against calls that change something (readOnly); events \
                      without readOnly (some service events) on their own.",
        chart: Chart::Pie(&[
            ("Read", Is(READ_ONLY, "true")),
            ("Write", Is(READ_ONLY, "false")),
            ("No readOnly field", Not(&Exists(READ_ONLY))),
        ]),
        query: None,
    },
    table(
        "top-countries",
        "Top countries",
        "Countries the calls come from (GeoIP of the source address; AWS services and private \
         addresses have none).",
        &[top(COUNTRY_NAME, 20), top(COUNTRY_CODE, 1)],
    ),
    table(
        "top-networks",
        "Top networks (AS)",
        "The networks the calls come from: the autonomous system's organization and number.",
        &[top(AS_ORGANIZATION, 20), top(AS_NUMBER, 5)],
    ),
    table(
        "clients",
        "Clients",
        "Console against scripts: the kind of client (console, aws-cli, sdk, terraform, \
         cloudformation, aws-service, other) and the tool the user agent names.",
        &[top(CLIENT, 10), top_or_missing(AGENT_NAME, 10, "(not named)")],
    ),
    table(
        "top-actors",
        "Top actors",
        "The most active actors: one name per identity whatever its type (IAM user, role/session, \
         root, federated user, AWS service).",
        &[top(ACTOR, 20)],
    ),
    table(
        "top-resources",
        "Top resources touched",
        "The resources calls name most (the DB instance, security group, key, bucket, function... \
         of each call), and the calls made on each.",
        &[top(RESOURCE, 20), top(EVENT_NAME, 10)],
    ),
    View {
        query: Some(Is(SOURCE_KIND, "s3")),
        ..table(
            "log-integrity",
            "Log integrity",
            "Events from S3 by what CloudTrail's digests say of their log objects: verified,              modified after delivery, or pending (no valid digest yet), per account.",
            &[top(INTEGRITY, 3), top(ACCOUNT, 20)],
        )
    },
    View {
        slug: MAP_SLUG,
        title: MAP_TITLE,
        description: MAP_DESCRIPTION,
        chart: Chart::TileMap,
        query: None,
    },
];

/// A bucket aggregation, before it gets its id.
struct Bucket {
    kind: &'static str,
    schema: &'static str,
    params: Value,
}

impl Terms {
    fn bucket(&self, schema: &'static str) -> Bucket {
        Bucket {
            kind: "terms",
            schema,
            params: json!({
                "field": aggregated_field(self.field),
                "orderBy": "1",
                "order": "desc",
                "size": self.size,
                "otherBucket": false,
                "otherBucketLabel": "Other",
                "missingBucket": self.missing.is_some(),
                "missingBucketLabel": self.missing.unwrap_or("Missing"),
            }),
        }
    }
}

impl Chart {
    fn vis_type(&self) -> &'static str {
        match self {
            Chart::Histogram(_) => "histogram",
            Chart::Table(_) => "table",
            Chart::Pie(_) => "pie",
            Chart::TileMap => "tile_map",
        }
    }

    fn params(&self) -> Value {
        match self {
            Chart::Histogram(_) => histogram_params(),
            Chart::Table(_) => table_params(),
            Chart::Pie(_) => pie_params(),
            Chart::TileMap => tile_map_params(),
        }
    }

    fn buckets(&self) -> Vec<Bucket> {
        match self {
            Chart::Histogram(split) => vec![date_histogram(), split.bucket("group")],
            Chart::Table(levels) => levels.iter().map(|terms| terms.bucket("bucket")).collect(),
            Chart::Pie(slices) => {
                let filters: Vec<Value> = slices
                    .iter()
                    .map(|(label, query)| json!({"input": lucene(&query.to_string()), "label": label}))
                    .collect();
                vec![Bucket {
                    kind: "filters",
                    schema: "segment",
                    params: json!({ "filters": filters }),
                }]
            }
            Chart::TileMap => vec![geohash_grid()],
        }
    }

    /// The count, id "1" (what every chart measures), then the buckets from "2".
    fn aggs(&self) -> Vec<Value> {
        let count = Bucket {
            kind: "count",
            schema: "metric",
            params: json!({}),
        };
        iter::once(count)
            .chain(self.buckets())
            .zip(1..)
            .map(|(agg, id)| {
                json!({
                    "id": id.to_string(),
                    "enabled": true,
                    "type": agg.kind,
                    "params": agg.params,
                    "schema": agg.schema,
                })
            })
            .collect()
    }
}

impl View {
    fn object(&self, naming: &Naming) -> Value {
        let title = naming.title(self.title);
        let vis_state = json!({
            "title": title,
            "type": self.chart.vis_type(),
            "params": self.chart.params(),
            "aggs": self.chart.aggs(),
        });
        let query = self.query.as_ref().map_or_else(String::new, Query::to_string);
        object(
            "visualization",
            &naming.id("vis", self.slug),
            json!({
                "title": title,
                "description": self.description,
                "visState": vis_state.to_string(),
                "uiStateJSON": "{}",
                "version": 1,
                "kibanaSavedObjectMeta": {"searchSourceJSON": search_source(&query)},
            }),
            index_reference(naming),
        )
    }
}

/// The visualizations for one product: Kibana 8 has no coordinate map (its
/// map is a Maps object), so only Dashboards gets the tile map.
pub(crate) fn visualization_objects(naming: &Naming, flavour: KibanaFlavour) -> Vec<Value> {
    VIEWS
        .iter()
        .filter(|view| {
            flavour == KibanaFlavour::OpenSearchDashboards || !matches!(view.chart, Chart::TileMap)
        })
        .map(|view| view.object(naming))
        .collect()
}

fn date_histogram() -> Bucket {
    Bucket {
        kind: "date_histogram",
        schema: "segment",
        params: json!({
            "field": aggregated_field(TIMESTAMP),
            "useNormalizedEsInterval": true,
            "scaleMetricValues": false,
            "interval": "auto",
            "drop_partials": false,
            "min_doc_count": 1,
            "extended_bounds": {},
        }),
    }
}

/// A coordinate map's grid: events per geohash cell of the source location,
/// the precision following the zoom.
fn geohash_grid() -> Bucket {
    Bucket {
        kind: "geohash_grid",
        schema: "segment",
        params: json!({
            "field": aggregated_field(LOCATION),
            "autoPrecision": true,
            "precision": 2,
            "useGeocentroid": true,
            "isFilteredByCollar": true,
        }),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use trailsearch_mapping::catalogue_path;

    #[test]
    fn views_name_catalogue_fields_only() {
        for view in VIEWS {
            let mut fields: Vec<&str> = match &view.chart {
                Chart::Histogram(split) => vec![TIMESTAMP, split.field],
                Chart::Table(levels) => levels.iter().map(|terms| terms.field).collect(),
                Chart::Pie(slices) => slices.iter().flat_map(|(_, query)| query.fields()).collect(),
                Chart::TileMap => vec![LOCATION],
            };
            fields.extend(view.query.iter().flat_map(Query::fields));
            for path in fields {
                assert!(catalogue_path(path), "{}: {path:?}", view.slug);
            }
        }
    }
}
