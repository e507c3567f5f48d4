//! The saved objects as files: in sync with `kibana/` for both products,
//! references that resolve, fields the template defines, a layout Kibana and
//! OpenSearch Dashboards both read, and each product's own map.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::{json, Value};
use trailsearch_kibana::{saved_objects, saved_objects_ndjson, KibanaFlavour};
use trailsearch_mapping::{defined_field_paths, mappings, DateParsing, Flavour, Granularity, IndexNaming};

const PRODUCTS: [KibanaFlavour; 2] = [KibanaFlavour::Kibana, KibanaFlavour::OpenSearchDashboards];

fn naming(prefix: &str) -> IndexNaming {
    IndexNaming::new(prefix, Granularity::Day).unwrap()
}

/// The checked-in file of a product.
fn file_name(flavour: KibanaFlavour) -> &'static str {
    match flavour {
        KibanaFlavour::OpenSearchDashboards => "trailsearch-osd.ndjson",
        _ => "trailsearch.ndjson",
    }
}

fn checked_in(flavour: KibanaFlavour) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../kibana")
        .join(file_name(flavour))
}

/// The objects of a product's checked-in file.
fn objects(flavour: KibanaFlavour) -> Vec<Value> {
    let path = checked_in(flavour);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

fn json_string(value: &Value) -> Value {
    serde_json::from_str(value.as_str().expect("a JSON string")).expect("JSON inside the string")
}

fn search_source(object: &Value) -> Value {
    json_string(&object["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
}

#[test]
fn kibana_the_checked_in_files_are_what_the_generator_writes() {
    for flavour in PRODUCTS {
        let generated = saved_objects_ndjson(&naming("cloudtrail"), flavour);
        let file = std::fs::read_to_string(checked_in(flavour)).unwrap_or_default();
        let name = file_name(flavour);
        assert!(
            file == generated,
            "kibana/{name} differs from the generator's output: run \
             `cargo run -p trailsearch-cli -- kibana export --kibana-flavour {flavour} --index-prefix cloudtrail > kibana/{name}`"
        );
        assert!(generated.ends_with('\n') && !generated.contains("\n\n"));
        // The same bytes on every call.
        assert_eq!(generated, saved_objects_ndjson(&naming("cloudtrail"), flavour));
    }
}

/// `type id` of every object, in file order.
fn type_ids(objects: &[Value]) -> Vec<String> {
    objects
        .iter()
        .map(|o| format!("{} {}", o["type"].as_str().unwrap(), o["id"].as_str().unwrap()))
        .collect()
}

#[test]
fn kibana_ids_are_stable_and_unique() {
    let common = [
        "index-pattern trailsearch-index-pattern",
        "search trailsearch-search-resource-deletions",
        "search trailsearch-search-security-group-changes",
        "search trailsearch-search-api-errors",
        "search trailsearch-search-access-denied",
        "search trailsearch-search-console-sign-ins",
        "search trailsearch-search-console-sign-in-failures",
        "search trailsearch-search-root-activity",
        "search trailsearch-search-iam-changes",
        "search trailsearch-search-cloudtrail-config-tampering",
        "search trailsearch-search-kms-key-disable-deletion",
        "search trailsearch-search-s3-bucket-access-changes",
        "search trailsearch-search-network-changes",
        "search trailsearch-search-provisional-without-record",
        "search trailsearch-search-not-verified",
        "visualization trailsearch-vis-events-over-time",
        "visualization trailsearch-vis-top-event-names",
        "visualization trailsearch-vis-top-users",
        "visualization trailsearch-vis-top-source-ips",
        "visualization trailsearch-vis-errors-by-code",
        "visualization trailsearch-vis-events-by-account-region",
        "visualization trailsearch-vis-user-agents",
        "visualization trailsearch-vis-read-vs-write",
        "visualization trailsearch-vis-top-countries",
        "visualization trailsearch-vis-top-networks",
        "visualization trailsearch-vis-clients",
        "visualization trailsearch-vis-top-actors",
        "visualization trailsearch-vis-top-resources",
        "visualization trailsearch-vis-log-integrity",
    ];
    let dashboards = [
        "dashboard trailsearch-dashboard-overview",
        "dashboard trailsearch-dashboard-investigation",
    ];
    for (flavour, map) in [
        (KibanaFlavour::Kibana, "map trailsearch-map-source-locations"),
        (
            KibanaFlavour::OpenSearchDashboards,
            "visualization trailsearch-vis-source-locations",
        ),
    ] {
        let ids = type_ids(&objects(flavour));
        let expected: Vec<&str> = common.iter().chain([&map]).chain(&dashboards).copied().collect();
        assert_eq!(ids, expected, "{flavour}");
        let unique: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), 32);
    }
}

#[test]
fn kibana_the_products_differ_only_in_the_map() {
    let by_id = |flavour| -> BTreeMap<String, Value> {
        objects(flavour)
            .into_iter()
            .map(|o| (o["id"].as_str().unwrap().to_string(), o))
            .collect()
    };
    let (kibana, osd) = (
        by_id(KibanaFlavour::Kibana),
        by_id(KibanaFlavour::OpenSearchDashboards),
    );
    let mut differ = BTreeSet::new();
    for id in kibana.keys().chain(osd.keys()) {
        if kibana.get(id) != osd.get(id) {
            differ.insert(id.as_str());
        }
    }
    assert_eq!(
        differ,
        BTreeSet::from([
            "trailsearch-map-source-locations",
            "trailsearch-vis-source-locations",
            "trailsearch-dashboard-overview",
        ])
    );
    // The overview differs in its map panel's type and reference only.
    let panels = |object: &Value| {
        let mut panels = json_string(&object["attributes"]["panelsJSON"]);
        for panel in panels.as_array_mut().unwrap() {
            panel["type"] = Value::Null;
        }
        panels
    };
    let (k, o) = (
        &kibana["trailsearch-dashboard-overview"],
        &osd["trailsearch-dashboard-overview"],
    );
    assert_eq!(panels(k), panels(o));
    let map_refs = |object: &Value| -> Vec<Value> {
        object["references"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["id"].as_str().unwrap().ends_with("-source-locations"))
            .cloned()
            .collect()
    };
    assert_eq!(
        map_refs(k),
        [json!({"name": "panel_6", "type": "map", "id": "trailsearch-map-source-locations"})]
    );
    assert_eq!(
        map_refs(o),
        [json!({"name": "panel_6", "type": "visualization", "id": "trailsearch-vis-source-locations"})]
    );
    // Kibana 8 has no coordinate map, Dashboards no Kibana map.
    for (flavour, absent) in [
        (KibanaFlavour::Kibana, "\\\"type\\\":\\\"tile_map\\\""),
        (KibanaFlavour::OpenSearchDashboards, "\"type\":\"map\""),
    ] {
        let text = std::fs::read_to_string(checked_in(flavour)).unwrap();
        assert!(!text.contains(absent), "{flavour}: {absent}");
    }
}

#[test]
fn kibana_the_kibana_map_clusters_source_locations_over_the_index_pattern() {
    let objects = objects(KibanaFlavour::Kibana);
    let map = objects.iter().find(|o| o["type"] == "map").unwrap();
    assert_eq!(map["attributes"]["title"], "Source locations");
    assert_eq!(map["migrationVersion"], json!({"map": "8.1.0"}));
    assert_eq!(
        map["references"],
        json!([{
            "name": "layer_1_source_index_pattern",
            "type": "index-pattern",
            "id": "trailsearch-index-pattern",
        }])
    );
    let layers = json_string(&map["attributes"]["layerListJSON"]);
    let layers = layers.as_array().unwrap();
    assert_eq!(layers.len(), 2);
    // Kibana 8.1+ layer type names, as the declared migration version says.
    assert_eq!(layers[0]["type"], "EMS_VECTOR_TILE");
    assert_eq!(layers[0]["sourceDescriptor"]["type"], "EMS_TMS");
    assert_eq!(layers[1]["type"], "GEOJSON_VECTOR");
    let source = &layers[1]["sourceDescriptor"];
    assert_eq!(source["type"], "ES_GEO_GRID");
    assert_eq!(source["geoField"], "source.geo.location");
    assert_eq!(source["requestType"], "point", "clusters, not a heat map or grid");
    assert_eq!(source["metrics"], json!([{"type": "count", "label": "Events"}]));
    assert_eq!(source["indexPatternRefName"], "layer_1_source_index_pattern");
    assert!(source.get("indexPatternId").is_none(), "layers refer by name");
    assert_eq!(source["applyGlobalQuery"], true);
    assert_eq!(source["applyGlobalTime"], true);
    let state = json_string(&map["attributes"]["mapStateJSON"]);
    assert_eq!(state["query"], json!({"query": "", "language": "lucene"}));
    assert!(state.get("timeFilters").is_none(), "the time picker's range");
    json_string(&map["attributes"]["uiStateJSON"]);
}

#[test]
fn kibana_the_dashboards_map_is_a_coordinate_map_of_source_locations() {
    let objects = objects(KibanaFlavour::OpenSearchDashboards);
    let map = objects
        .iter()
        .find(|o| o["id"] == "trailsearch-vis-source-locations")
        .unwrap();
    let state = json_string(&map["attributes"]["visState"]);
    assert_eq!(state["type"], "tile_map");
    assert_eq!(state["params"]["mapType"], "Scaled Circle Markers");
    assert_eq!(state["params"]["wms"]["enabled"], false);
    let aggs = state["aggs"].as_array().unwrap();
    assert_eq!(aggs.len(), 2);
    assert_eq!(aggs[0]["type"], "count");
    assert_eq!(aggs[1]["type"], "geohash_grid");
    assert_eq!(aggs[1]["schema"], "segment");
    assert_eq!(aggs[1]["params"]["field"], "source.geo.location");
    assert_eq!(aggs[1]["params"]["autoPrecision"], true);
    assert_eq!(
        map["references"],
        json!([{
            "name": "kibanaSavedObjectMeta.searchSourceJSON.index",
            "type": "index-pattern",
            "id": "trailsearch-index-pattern",
        }])
    );
}

#[test]
fn kibana_the_map_field_is_a_geo_point_in_every_template() {
    for flavour in [Flavour::Elasticsearch, Flavour::OpenSearch, Flavour::Compatible] {
        let location = &mappings(flavour, DateParsing::Default)["properties"]["source"]["properties"]["geo"]
            ["properties"]["location"];
        assert_eq!(location["type"], "geo_point", "{flavour}");
    }
}

#[test]
fn kibana_the_index_pattern_follows_the_prefix() {
    for flavour in PRODUCTS {
        let objects = objects(flavour);
        let pattern = &objects[0];
        assert_eq!(pattern["type"], "index-pattern");
        assert_eq!(pattern["attributes"]["title"], "cloudtrail-*");
        assert_eq!(pattern["attributes"]["timeFieldName"], "@timestamp");
        assert_eq!(pattern["attributes"]["fields"], "[]");

        let other = saved_objects(&naming("prod-trail"), flavour);
        assert_eq!(other[0]["attributes"]["title"], "prod-trail-*");
        for object in &other {
            let id = object["id"].as_str().unwrap();
            assert!(id.starts_with("trailsearch-prod-trail-"), "{id}");
            for reference in object["references"].as_array().unwrap() {
                assert!(reference["id"]
                    .as_str()
                    .unwrap()
                    .starts_with("trailsearch-prod-trail-"));
            }
        }
        let text = saved_objects_ndjson(&naming("prod-trail"), flavour);
        assert!(
            !text.contains("cloudtrail-*"),
            "nothing points at the default prefix"
        );
    }
}

/// Every reference a saved object's JSON makes by name, with the type it needs.
fn reference_names(object: &Value) -> Vec<(String, &'static str)> {
    let mut names = Vec::new();
    let meta = &object["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"];
    if meta.is_string() {
        let source = json_string(meta);
        if let Some(name) = source["indexRefName"].as_str() {
            names.push((name.to_string(), "index-pattern"));
        }
        for filter in source["filter"].as_array().into_iter().flatten() {
            if let Some(name) = filter["meta"]["indexRefName"].as_str() {
                names.push((name.to_string(), "index-pattern"));
            }
            assert!(filter["meta"].get("index").is_none(), "filters refer by name");
        }
        assert!(source.get("index").is_none(), "search sources refer by name");
    }
    if object["type"] == "map" {
        let layers = json_string(&object["attributes"]["layerListJSON"]);
        for layer in layers.as_array().unwrap() {
            if let Some(name) = layer["sourceDescriptor"]["indexPatternRefName"].as_str() {
                names.push((name.to_string(), "index-pattern"));
            }
            assert!(layer["sourceDescriptor"].get("indexPatternId").is_none());
        }
    }
    if object["type"] == "dashboard" {
        for panel in json_string(&object["attributes"]["panelsJSON"])
            .as_array()
            .unwrap()
        {
            let name = panel["panelRefName"].as_str().expect("panels refer by name");
            let kind = match panel["type"].as_str().unwrap() {
                "visualization" => "visualization",
                "search" => "search",
                "map" => "map",
                other => panic!("panel type {other}"),
            };
            names.push((name.to_string(), kind));
            assert!(panel.get("id").is_none());
        }
    }
    names
}

#[test]
fn kibana_every_reference_resolves_inside_the_file() {
    for objects in PRODUCTS
        .into_iter()
        .flat_map(|f| [objects(f), saved_objects(&naming("other"), f)])
    {
        let present: BTreeSet<(String, String)> = objects
            .iter()
            .map(|o| {
                (
                    o["type"].as_str().unwrap().to_string(),
                    o["id"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        for object in &objects {
            let id = object["id"].as_str().unwrap();
            let references: BTreeMap<String, (String, String)> = object["references"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let target = (
                        r["type"].as_str().unwrap().to_string(),
                        r["id"].as_str().unwrap().to_string(),
                    );
                    assert!(
                        present.contains(&target),
                        "{id} refers to {target:?}, which the file lacks"
                    );
                    (r["name"].as_str().unwrap().to_string(), target)
                })
                .collect();
            assert_eq!(
                references.len(),
                object["references"].as_array().unwrap().len(),
                "{id}: reference names are unique"
            );
            let used = reference_names(object);
            for (name, kind) in &used {
                let target = references
                    .get(name)
                    .unwrap_or_else(|| panic!("{id}: no reference named {name}"));
                assert_eq!(target.0, *kind, "{id}: {name}");
            }
            let used: BTreeSet<&String> = used.iter().map(|(n, _)| n).collect();
            assert_eq!(used.len(), references.len(), "{id}: every reference is used");
        }
    }
}

#[test]
fn kibana_types_and_migration_versions_are_ones_the_product_imports() {
    // Dashboards forked from Kibana 7.10; these are its newest migrations per
    // type, and Kibana 8 migrates on from them. The map is Kibana's only, in
    // Kibana 8.1's layout.
    let newest = BTreeMap::from([
        ("index-pattern", "7.6.0"),
        ("search", "7.9.3"),
        ("visualization", "7.10.0"),
        ("dashboard", "7.9.3"),
        ("map", "8.1.0"),
    ]);
    // Attributes the product maps (Dashboards' saved-object mappings are strict).
    let attributes = BTreeMap::from([
        (
            "map",
            &[
                "title",
                "description",
                "mapStateJSON",
                "layerListJSON",
                "uiStateJSON",
            ][..],
        ),
        ("index-pattern", &["title", "timeFieldName", "fields"][..]),
        (
            "search",
            &[
                "title",
                "description",
                "columns",
                "sort",
                "version",
                "kibanaSavedObjectMeta",
            ][..],
        ),
        (
            "visualization",
            &[
                "title",
                "description",
                "visState",
                "uiStateJSON",
                "version",
                "kibanaSavedObjectMeta",
            ][..],
        ),
        (
            "dashboard",
            &[
                "title",
                "description",
                "panelsJSON",
                "optionsJSON",
                "timeRestore",
                "version",
                "kibanaSavedObjectMeta",
            ][..],
        ),
    ]);
    for (flavour, object) in PRODUCTS
        .into_iter()
        .flat_map(|f| objects(f).into_iter().map(move |o| (f, o)))
    {
        let kind = object["type"].as_str().unwrap();
        assert!(
            kind != "map" || flavour == KibanaFlavour::Kibana,
            "Dashboards has no Kibana map"
        );
        let version = newest.get(kind).unwrap_or_else(|| panic!("type {kind}"));
        assert_eq!(object["migrationVersion"][kind], *version, "{object}");
        let keys: BTreeSet<&str> = object["attributes"]
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        let allowed: BTreeSet<&str> = attributes[kind].iter().copied().collect();
        assert!(keys.is_subset(&allowed), "{kind}: {keys:?}");
        assert!(object["attributes"]["title"]
            .as_str()
            .is_some_and(|t| !t.is_empty()));
    }
}

#[test]
fn kibana_searches_and_visualizations_are_lucene_over_the_index_pattern() {
    for object in PRODUCTS.into_iter().flat_map(objects) {
        let kind = object["type"].as_str().unwrap();
        if kind != "search" && kind != "visualization" {
            continue;
        }
        let source = search_source(&object);
        assert_eq!(source["query"]["language"], "lucene", "{object}");
        assert_eq!(source["filter"], Value::Array(vec![]));
        let query = source["query"]["query"].as_str().unwrap();
        lucene_is_well_formed(query);
        if kind == "search" {
            assert!(!query.is_empty(), "a saved search asks something");
            assert_eq!(
                object["attributes"]["sort"],
                serde_json::json!([["@timestamp", "desc"]])
            );
            let columns = object["attributes"]["columns"].as_array().unwrap();
            assert!(columns.len() >= 5, "{object}");
            // Discover shows the time column itself.
            assert!(!columns.contains(&Value::from("@timestamp")));
        }
    }
}

/// Operators are upper case (Lucene reads `and` as a word), parentheses
/// balance, and no term is left open.
fn lucene_is_well_formed(query: &str) {
    let mut depth = 0i32;
    for c in query.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        assert!(depth >= 0, "{query}");
    }
    assert_eq!(depth, 0, "{query}");
    for word in query.split(|c: char| c.is_whitespace() || c == '(' || c == ')') {
        assert!(
            !["and", "or", "not", "And", "Or", "Not"].contains(&word),
            "{query}: {word}"
        );
    }
    let chars: Vec<char> = query.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if *c == ':' {
            let next = chars.get(i + 1);
            assert!(
                next.is_some_and(|n| !n.is_whitespace()),
                "{query}: nothing after ':'"
            );
        }
    }
    assert!(!query.contains('"') && !query.contains('\''), "{query}");
}

/// Field names a Lucene query uses: `name:` and `_exists_:name`.
fn lucene_fields(query: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in query.split(|c: char| c.is_whitespace() || c == '(' || c == ')') {
        if let Some(field) = word.strip_prefix("_exists_:") {
            out.push(field.to_string());
        } else if let Some((field, _)) = word.split_once(':') {
            out.push(field.to_string());
        }
    }
    out
}

/// Every field any saved object names: columns, sort, time field, query
/// fields, aggregation fields, filter keys.
fn referenced_fields(objects: &[Value]) -> BTreeSet<String> {
    let mut fields = BTreeSet::new();
    for object in objects {
        let attributes = &object["attributes"];
        if let Some(time) = attributes["timeFieldName"].as_str() {
            fields.insert(time.to_string());
        }
        for column in attributes["columns"].as_array().into_iter().flatten() {
            fields.insert(column.as_str().unwrap().to_string());
        }
        for sort in attributes["sort"].as_array().into_iter().flatten() {
            fields.insert(sort[0].as_str().unwrap().to_string());
        }
        if attributes["kibanaSavedObjectMeta"]["searchSourceJSON"].is_string() {
            let source = search_source(object);
            fields.extend(lucene_fields(source["query"]["query"].as_str().unwrap()));
            for filter in source["filter"].as_array().into_iter().flatten() {
                fields.insert(filter["meta"]["key"].as_str().unwrap().to_string());
                let phrase = filter["query"]["match_phrase"].as_object().unwrap();
                fields.extend(phrase.keys().cloned());
            }
        }
        if attributes["visState"].is_string() {
            let state = json_string(&attributes["visState"]);
            for agg in state["aggs"].as_array().unwrap() {
                if let Some(field) = agg["params"]["field"].as_str() {
                    fields.insert(field.to_string());
                }
                for filter in agg["params"]["filters"].as_array().into_iter().flatten() {
                    fields.extend(lucene_fields(filter["input"]["query"].as_str().unwrap()));
                }
            }
        }
        if attributes["layerListJSON"].is_string() {
            for layer in json_string(&attributes["layerListJSON"]).as_array().unwrap() {
                if let Some(field) = layer["sourceDescriptor"]["geoField"].as_str() {
                    fields.insert(field.to_string());
                }
            }
            let state = json_string(&attributes["mapStateJSON"]);
            fields.extend(lucene_fields(state["query"]["query"].as_str().unwrap()));
        }
    }
    fields
}

#[test]
fn kibana_every_field_the_objects_use_is_in_the_template() {
    let fields = referenced_fields(&PRODUCTS.into_iter().flat_map(objects).collect::<Vec<_>>());
    // The extraction sees every kind of use.
    for expected in [
        "source.geo.location",
        "source.geo.country_name",
        "source.as.organization.name",
        "source.as.number",
        "trailsearch.actor",
        "trailsearch.client",
        "user_agent.name",
        "@timestamp",
        "eventName",
        "userIdentity.arn",
        "userIdentity.invokedBy",
        "event.outcome",
        "trailsearch.resource",
        "trailsearch.console_login",
        "trailsearch.mfa",
        "requestParameters",
        "recipientAccountId",
        "readOnly",
        "userIdentity.type",
    ] {
        assert!(fields.contains(expected), "{expected} not found in {fields:?}");
    }
    // Keys inside flattened / flat_object fields cannot be Discover columns
    // or terms aggregations, and the compatible flavour cannot query them:
    // every field used is one the template defines.
    for flavour in [Flavour::Elasticsearch, Flavour::OpenSearch, Flavour::Compatible] {
        let defined: BTreeSet<String> = defined_field_paths(flavour).into_iter().collect();
        for field in &fields {
            assert!(
                defined.contains(field),
                "{field} is used by a saved object but the {flavour} template does not define it"
            );
        }
    }
}

#[test]
fn kibana_visualizations_are_aggregation_based_with_a_count_and_buckets() {
    let all = PRODUCTS
        .into_iter()
        .flat_map(|f| objects(f).into_iter().map(move |o| (f, o)));
    for (flavour, object) in all.filter(|(_, o)| o["type"] == "visualization") {
        let state = json_string(&object["attributes"]["visState"]);
        assert_eq!(state["title"], object["attributes"]["title"]);
        let vis_type = state["type"].as_str().unwrap();
        let types: &[&str] = match flavour {
            // Kibana 8 dropped the coordinate map.
            KibanaFlavour::Kibana => &["histogram", "table", "pie"],
            _ => &["histogram", "table", "pie", "tile_map"],
        };
        assert!(types.contains(&vis_type), "{flavour}: {vis_type}");
        assert_eq!(
            json_string(&object["attributes"]["uiStateJSON"]),
            serde_json::json!({})
        );
        let aggs = state["aggs"].as_array().unwrap();
        let ids: BTreeSet<&str> = aggs.iter().map(|a| a["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), aggs.len(), "agg ids are unique");
        assert_eq!(aggs[0]["type"], "count");
        assert_eq!(aggs[0]["schema"], "metric");
        assert!(aggs.len() >= 2, "{state}");
        for agg in &aggs[1..] {
            assert_eq!(agg["enabled"], true);
            let schema = agg["schema"].as_str().unwrap();
            let allowed: &[&str] = match vis_type {
                "histogram" => &["segment", "group"],
                "table" => &["bucket", "split"],
                "tile_map" => &["segment"],
                _ => &["segment", "split"],
            };
            assert!(allowed.contains(&schema), "{vis_type}: {schema}");
            match agg["type"].as_str().unwrap() {
                "terms" => {
                    assert_eq!(agg["params"]["orderBy"], "1", "ordered by the count");
                    assert!(agg["params"]["size"].as_u64().unwrap() > 0);
                    assert_eq!(agg["params"]["otherBucket"], false);
                    if agg["params"]["missingBucket"] == true {
                        // Only a sub-bucket: a parent row without the field stays in the table.
                        assert_ne!(agg["id"], aggs[1]["id"], "{state}");
                    }
                }
                "geohash_grid" => {
                    assert_eq!(vis_type, "tile_map");
                    assert_eq!(agg["params"]["field"], "source.geo.location");
                }
                "date_histogram" => assert_eq!(agg["params"]["field"], "@timestamp"),
                "filters" => {
                    for filter in agg["params"]["filters"].as_array().unwrap() {
                        // The 7.3+ layout: a query object, not a string.
                        assert_eq!(filter["input"]["language"], "lucene");
                        assert!(filter["label"].as_str().is_some());
                    }
                }
                other => panic!("agg type {other}"),
            }
        }
    }
}

#[test]
fn kibana_dashboards_lay_out_their_panels_without_overlap() {
    for flavour in PRODUCTS {
        dashboards_lay_out_their_panels(flavour);
    }
}

fn dashboards_lay_out_their_panels(flavour: KibanaFlavour) {
    let objects = objects(flavour);
    let titles: Vec<&str> = objects
        .iter()
        .filter(|o| o["type"] == "dashboard")
        .map(|o| o["attributes"]["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["CloudTrail overview", "CloudTrail investigation"]);
    let searches = objects.iter().filter(|o| o["type"] == "search").count();
    let visualizations = objects.iter().filter(|o| o["type"] == "visualization").count();
    let maps = objects.iter().filter(|o| o["type"] == "map").count();
    assert_eq!(
        (visualizations, maps),
        match flavour {
            KibanaFlavour::Kibana => (14, 1),
            _ => (15, 0),
        }
    );
    for dashboard in objects.iter().filter(|o| o["type"] == "dashboard") {
        let panels = json_string(&dashboard["attributes"]["panelsJSON"]);
        let panels = panels.as_array().unwrap();
        let mut cells = BTreeSet::new();
        let mut indices = BTreeSet::new();
        for panel in panels {
            let grid = &panel["gridData"];
            let n = |k: &str| grid[k].as_u64().unwrap();
            assert!(n("x") + n("w") <= 48 && n("w") > 0 && n("h") > 0, "{panel}");
            assert_eq!(grid["i"], panel["panelIndex"]);
            assert!(indices.insert(panel["panelIndex"].as_str().unwrap().to_string()));
            for x in n("x")..n("x") + n("w") {
                for y in n("y")..n("y") + n("h") {
                    assert!(cells.insert((x, y)), "panels overlap at {x},{y}");
                }
            }
        }
        let panel_refs: Vec<(&str, &str)> = dashboard["references"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["name"].as_str().unwrap().starts_with("panel_"))
            .map(|r| (r["type"].as_str().unwrap(), r["id"].as_str().unwrap()))
            .collect();
        let of_kind = |kind: &str| panel_refs.iter().filter(|(k, _)| *k == kind).count();
        let (s, v, m) = (of_kind("search"), of_kind("visualization"), of_kind("map"));
        if dashboard["id"] == "trailsearch-dashboard-overview" {
            assert_eq!(
                (s, v, m),
                (1, visualizations, maps),
                "every visualization and map, and the API errors"
            );
            assert!(search_source(dashboard)["filter"].as_array().unwrap().is_empty());
        } else {
            assert_eq!((s, v, m), (searches, 4, 0), "every saved search");
            let shown: BTreeSet<&str> = panel_refs
                .iter()
                .filter(|(k, _)| *k == "visualization")
                .map(|(_, id)| *id)
                .collect();
            assert_eq!(
                shown,
                BTreeSet::from([
                    "trailsearch-vis-events-over-time",
                    "trailsearch-vis-top-actors",
                    "trailsearch-vis-top-resources",
                    "trailsearch-vis-clients",
                ])
            );
            let filters = search_source(dashboard)["filter"].as_array().unwrap().clone();
            assert_eq!(filters.len(), 3);
            assert!(
                filters.iter().all(|f| f["meta"]["disabled"] == true),
                "filters start off"
            );
        }
    }
}
