//! Kibana's map of source locations (a `map` object of its Maps app), and the
//! name and wording it shares with Dashboards' coordinate map.

use serde_json::{json, Value};

use crate::fields::{field, LOCATION};
use crate::objects::{lucene, object, Naming};

/// The map's slug, title and description, the same in both products.
pub(crate) const MAP_SLUG: &str = "source-locations";
pub(crate) const MAP_TITLE: &str = "Source locations";
pub(crate) const MAP_DESCRIPTION: &str =
    "Where calls come from: events per area of the source address's location \
                               (GeoIP), clustered as the map zooms. Empty without GeoIP databases.";

/// The reference name Kibana gives the map's second layer's index pattern.
const MAP_INDEX_REF: &str = "layer_1_source_index_pattern";

/// Kibana's map of source locations: a base map and a clusters layer, events
/// per grid cell of `source.geo.location` (Kibana's Maps run a
/// `geotile_grid` for it), sized and labelled by count.
pub(crate) fn kibana_map(naming: &Naming) -> Value {
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
        json!([{"name": MAP_INDEX_REF, "type": "index-pattern", "id": naming.index_pattern_id()}]),
    )
}
