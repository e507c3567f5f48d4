//! Index templates generated from the catalogue, one per cluster flavour.

use serde_json::{json, Map, Value};

use crate::integrity::integrity_mappings;

use crate::catalogue::{
    free_shaped_fields, Field, FieldType, ADDED_FIELDS, CLOUDTRAIL_FIELDS, TRAILSEARCH_FIELDS,
};
use crate::index::IndexNaming;

/// Bumped whenever the generated mappings change, so `setup` can tell an
/// installed template from the current one.
pub const TEMPLATE_VERSION: u32 = 9;

/// Explicit priority: above the built-in `logs-*`-style templates (100),
/// leaving room above for a user's own overrides.
pub const TEMPLATE_PRIORITY: u32 = 200;

/// Longest keyword value indexed; longer values stay in `_source` only.
pub const KEYWORD_IGNORE_ABOVE: u32 = 1024;

/// Which free-shaped object type the cluster has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Flavour {
    /// Elasticsearch 7.3+ default distribution, 8.x, 9.x: `flattened`.
    Elasticsearch,
    /// OpenSearch 2.7+: `flat_object`.
    OpenSearch,
    /// OSS-licensed Elasticsearch 7.x and OpenSearch before 2.7: free-shaped
    /// objects stored unindexed, with a searchable text copy of their JSON.
    Compatible,
}

impl Flavour {
    /// The flavour's name as used in flags and golden files.
    pub fn name(self) -> &'static str {
        match self {
            Flavour::Elasticsearch => "elasticsearch",
            Flavour::OpenSearch => "opensearch",
            Flavour::Compatible => "compatible",
        }
    }

    /// Whether documents carry `trailsearch.text.*` copies of free-shaped objects.
    pub fn needs_text_copies(self) -> bool {
        self == Flavour::Compatible
    }

    fn free_shaped_mapping(self) -> Value {
        match self {
            // Every leaf stays searchable; without doc values no leaf can be
            // sorted or aggregated on, which no saved view does, and each
            // event is about a tenth smaller (`scripts/bench --real`).
            // OpenSearch's `flat_object` takes no such parameter.
            Flavour::Elasticsearch => json!({"type": "flattened", "doc_values": false}),
            Flavour::OpenSearch => json!({"type": "flat_object"}),
            Flavour::Compatible => json!({"type": "object", "enabled": false}),
        }
    }
}

/// How the cluster parses the timestamps of the events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum DateParsing {
    /// The cluster's default format, `strict_date_optional_time||epoch_millis`.
    #[default]
    Default,
    /// OpenSearch 2.12+'s `rfc3339_lenient`, a parser of its own: the default
    /// goes through `java.time`, a twelfth of the node's indexing CPU in a
    /// JFR profile of `scripts/bench --real`'s ingest. Every `eventTime` the
    /// shaper lets through is RFC 3339, and hits, sort values and buckets
    /// print as before; a query giving a bare epoch-millis number must say
    /// `"format": "epoch_millis"`, as Kibana and OpenSearch Dashboards do.
    /// The format stands alone: combined with another through `||`,
    /// OpenSearch 3.8 fails every value.
    Rfc3339,
}

impl DateParsing {
    fn mapping(self) -> Value {
        match self {
            DateParsing::Default => json!({"type": "date"}),
            DateParsing::Rfc3339 => json!({"type": "date", "format": "rfc3339_lenient"}),
        }
    }
}

impl std::fmt::Display for Flavour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

fn keyword() -> Value {
    json!({"type": "keyword", "ignore_above": KEYWORD_IGNORE_ABOVE})
}

/// A keyword nobody sorts or aggregates on: no doc values.
pub(crate) fn identifier() -> Value {
    let mut mapping = keyword();
    mapping["doc_values"] = json!(false);
    mapping
}

fn field_mapping(field_type: FieldType, flavour: Flavour, dates: DateParsing) -> Value {
    match field_type {
        FieldType::Keyword => keyword(),
        FieldType::Identifier => identifier(),
        FieldType::Text => json!({"type": "text", "fields": {"keyword": keyword()}}),
        FieldType::Date => dates.mapping(),
        FieldType::Ip => json!({"type": "ip"}),
        FieldType::Boolean => json!({"type": "boolean"}),
        FieldType::Long => json!({"type": "long"}),
        FieldType::GeoPoint => json!({"type": "geo_point"}),
        FieldType::FreeShaped => flavour.free_shaped_mapping(),
        FieldType::Object(fields) | FieldType::ObjectArray(fields) => {
            json!({"properties": properties(fields, flavour, dates)})
        }
        FieldType::Alias(path) => json!({"type": "alias", "path": path}),
    }
}

fn properties(fields: &[Field], flavour: Flavour, dates: DateParsing) -> Map<String, Value> {
    fields
        .iter()
        .map(|field| (field.name.to_string(), field_mapping(field.ty, flavour, dates)))
        .collect()
}

/// The `mappings` object for a flavour.
pub fn mappings(flavour: Flavour, dates: DateParsing) -> Value {
    let mut props = properties(CLOUDTRAIL_FIELDS, flavour, dates);
    props.extend(properties(ADDED_FIELDS, flavour, dates));
    let mut ours = properties(TRAILSEARCH_FIELDS, flavour, dates);
    // What could not be indexed stays in the document, unindexed.
    ours.insert("unindexed".into(), json!({"type": "object", "enabled": false}));
    if flavour.needs_text_copies() {
        let copies: Map<String, Value> = free_shaped_fields()
            .map(|name| (name.to_string(), json!({"type": "text"})))
            .collect();
        ours.insert("text".into(), json!({"properties": copies}));
    }
    props.insert("trailsearch".into(), json!({"properties": ours}));

    // Objects CloudTrail adds later become free-shaped, and every other new
    // scalar a keyword: the field count stays bounded and a value that is a
    // number in one service and a string in another cannot conflict.
    let mut dynamic_templates = vec![json!({"new_top_level_objects": {
        "match_mapping_type": "object",
        "path_unmatch": "*.*",
        "mapping": flavour.free_shaped_mapping(),
    }})];
    for kind in ["string", "long", "double", "boolean"] {
        dynamic_templates.push(json!({ format!("new_{kind}s_as_keywords"): {
            "match_mapping_type": kind,
            "mapping": keyword(),
        }}));
    }

    json!({
        "dynamic": true,
        // `apiVersion` and friends look like dates; they are not.
        "date_detection": false,
        "numeric_detection": false,
        "dynamic_templates": dynamic_templates,
        "_meta": {"trailsearch": {"template_version": TEMPLATE_VERSION, "flavour": flavour.name()}},
        "properties": props,
    })
}

fn settings(replicas: u32) -> Value {
    // DEFLATE rather than LZ4 for stored fields: `_source` is about half of
    // what an event costs on disk and this takes a quarter off the total
    // (`scripts/bench --real`); fetching a page of hits is barely slower.
    json!({"index": {"number_of_shards": 1, "number_of_replicas": replicas, "codec": "best_compression"}})
}

/// A composable index template (`PUT _index_template/<name>`) for the events.
pub fn index_template(flavour: Flavour, dates: DateParsing, naming: &IndexNaming, replicas: u32) -> Value {
    json!({
        "index_patterns": [naming.pattern()],
        "priority": TEMPLATE_PRIORITY,
        "version": TEMPLATE_VERSION,
        "_meta": {"managed_by": "trailsearch", "flavour": flavour.name()},
        "template": {"settings": settings(replicas), "mappings": mappings(flavour, dates)},
    })
}

/// The same template for the legacy API (`PUT _template/<name>`), which
/// Elasticsearch before 7.8 has instead of composable templates.
pub fn legacy_index_template(flavour: Flavour, naming: &IndexNaming, replicas: u32) -> Value {
    json!({
        "index_patterns": [naming.pattern()],
        "order": TEMPLATE_PRIORITY,
        "version": TEMPLATE_VERSION,
        "settings": settings(replicas),
        "mappings": mappings(flavour, DateParsing::Default),
    })
}

/// Mappings of the dead-letter index: the original record kept as unindexed
/// text, the reason searchable.
pub fn deadletter_mappings() -> Value {
    json!({
        "dynamic": false,
        "properties": {
            "record": {"type": "text", "index": false},
            "reason": {"type": "text", "fields": {"keyword": keyword()}},
            "trailsearch": {"properties": properties(TRAILSEARCH_FIELDS, Flavour::OpenSearch, DateParsing::Default)},
        }
    })
}

/// A composable template for the dead-letter index.
pub fn deadletter_template(naming: &IndexNaming, replicas: u32) -> Value {
    side_template(naming.deadletter_index(), deadletter_mappings(), replicas)
}

/// The dead-letter template for the legacy API.
pub fn legacy_deadletter_template(naming: &IndexNaming, replicas: u32) -> Value {
    legacy_side_template(naming.deadletter_index(), deadletter_mappings(), replicas)
}

/// A composable template for the integrity index.
pub fn integrity_template(naming: &IndexNaming, replicas: u32) -> Value {
    side_template(naming.integrity_index(), integrity_mappings(), replicas)
}

/// The integrity template for the legacy API.
pub fn legacy_integrity_template(naming: &IndexNaming, replicas: u32) -> Value {
    legacy_side_template(naming.integrity_index(), integrity_mappings(), replicas)
}

/// A composable template for one index beside the events (dead letters, integrity).
fn side_template(index: String, mappings: Value, replicas: u32) -> Value {
    json!({
        "index_patterns": [index],
        "priority": TEMPLATE_PRIORITY,
        "version": TEMPLATE_VERSION,
        "_meta": {"managed_by": "trailsearch"},
        "template": {"settings": settings(replicas), "mappings": mappings},
    })
}

/// [`side_template`] for the legacy API.
fn legacy_side_template(index: String, mappings: Value, replicas: u32) -> Value {
    json!({
        "index_patterns": [index],
        "order": TEMPLATE_PRIORITY,
        "version": TEMPLATE_VERSION,
        "settings": settings(replicas),
        "mappings": mappings,
    })
}

/// Every concrete field path a template defines (aliases included), for
/// bounding the field count.
pub fn defined_field_paths(flavour: Flavour) -> Vec<String> {
    fn walk(prefix: &str, props: &Map<String, Value>, out: &mut Vec<String>) {
        for (name, mapping) in props {
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            out.push(path.clone());
            if let Some(Value::Object(children)) = mapping.get("properties") {
                walk(&path, children, out);
            }
        }
    }
    let mut out = Vec::new();
    if let Some(Value::Object(props)) = mappings(flavour, DateParsing::Default).get("properties") {
        walk("", props, &mut out);
    }
    out
}
