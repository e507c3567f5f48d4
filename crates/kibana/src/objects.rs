//! What every saved object shares: the envelope, its layout version, IDs and
//! titles per index prefix, and the search source over the index pattern.

use serde_json::{json, Value};

use trailsearch_mapping::IndexNaming;

use crate::fields::{field, TIMESTAMP};
use crate::DEFAULT_KIBANA_PREFIX;

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

/// A saved object of type `kind`, as the import API takes it.
pub(crate) fn object(kind: &str, id: &str, attributes: Value, references: Value) -> Value {
    json!({
        "type": kind,
        "id": id,
        "attributes": attributes,
        "references": references,
        "migrationVersion": migration_version(kind),
    })
}

/// The reference name Kibana gives a search source's index pattern.
const INDEX_REF: &str = "kibanaSavedObjectMeta.searchSourceJSON.index";

/// A query as a search source or filter holds it.
pub(crate) fn lucene(query: &str) -> Value {
    json!({"query": query, "language": "lucene"})
}

/// A search source over the index pattern: the query and its reference.
pub(crate) fn search_source(query: &str) -> String {
    json!({"query": lucene(query), "filter": [], "indexRefName": INDEX_REF}).to_string()
}

/// The references of an object whose search source is over the index pattern.
pub(crate) fn index_reference(naming: &Naming) -> Value {
    json!([{"name": INDEX_REF, "type": "index-pattern", "id": naming.index_pattern_id()}])
}

/// The index pattern over `<prefix>-*`, which every other object reads.
pub(crate) fn index_pattern(naming: &Naming) -> Value {
    object(
        "index-pattern",
        &naming.index_pattern_id(),
        json!({
            "title": naming.pattern,
            "timeFieldName": field(TIMESTAMP),
            // Empty: both products read the field list from the cluster.
            "fields": "[]",
        }),
        json!([]),
    )
}

/// IDs and titles for one index prefix: plain for the default prefix, with
/// the prefix otherwise, so several prefixes live side by side in one Kibana.
pub(crate) struct Naming {
    id_base: String,
    title_suffix: String,
    pattern: String,
}

impl Naming {
    pub(crate) fn new(naming: &IndexNaming) -> Self {
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

    /// `trailsearch[-<prefix>]-<kind>-<slug>`.
    pub(crate) fn id(&self, kind: &str, slug: &str) -> String {
        format!("{}-{kind}-{slug}", self.id_base)
    }

    pub(crate) fn index_pattern_id(&self) -> String {
        format!("{}-index-pattern", self.id_base)
    }

    /// The title, with ` [<prefix>]` after it for other prefixes.
    pub(crate) fn title(&self, title: &str) -> String {
        format!("{title}{}", self.title_suffix)
    }
}
