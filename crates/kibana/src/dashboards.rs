//! The dashboards: tables of panels on Kibana's 48-column grid, and the
//! filters they carry.

use serde_json::{json, Value};

use crate::fields::{field, OUTCOME, READ_ONLY, USER_TYPE};
use crate::map::MAP_SLUG;
use crate::objects::{lucene, object, Naming};
use crate::searches::SEARCHES;
use crate::KibanaFlavour;

/// What a panel shows.
#[derive(Clone, Copy)]
enum Shows {
    /// A visualization, by slug.
    Vis(&'static str),
    /// A saved search, by slug.
    Search(&'static str),
    /// The source locations: Kibana's map, or Dashboards' coordinate map.
    Map,
}

/// A panel: what it shows and where.
#[derive(Clone, Copy)]
struct Panel {
    shows: Shows,
    x: u32,
    y: u32,
    w: u32,
    h: u32,
}

const fn vis(slug: &'static str, x: u32, y: u32, w: u32, h: u32) -> Panel {
    Panel {
        shows: Shows::Vis(slug),
        x,
        y,
        w,
        h,
    }
}

/// A value a filter matches.
enum Phrase {
    Bool(bool),
    Text(&'static str),
}

/// A filter a dashboard carries, disabled: one click turns it on.
struct Filter {
    alias: &'static str,
    key: &'static str,
    value: Phrase,
    negate: bool,
}

struct Dashboard {
    slug: &'static str,
    title: &'static str,
    description: &'static str,
    panels: &'static [Panel],
    /// The grid row below the panels from which every saved search follows,
    /// two a row, when it shows them.
    searches_from: Option<u32>,
    filters: &'static [Filter],
}

/// Saved searches under `searches_from` are this wide and high.
const SEARCH_W: u32 = 24;
const SEARCH_H: u32 = 15;

const DASHBOARDS: &[Dashboard] = &[
    Dashboard {
        slug: "overview",
        title: "CloudTrail overview",
        description: "What happens in the accounts: events over time by outcome, who calls what, from \
                      where (map, countries, networks) and with what client, errors, read vs write.",
        // Who, from where and with what in the middle; the errors' detail last.
        panels: &[
            vis("events-over-time", 0, 0, 48, 12),
            vis("read-vs-write", 0, 12, 16, 13),
            vis("errors-by-code", 16, 12, 32, 13),
            vis("top-event-names", 0, 25, 16, 16),
            vis("top-actors", 16, 25, 16, 16),
            vis("top-users", 32, 25, 16, 16),
            Panel {
                shows: Shows::Map,
                x: 0,
                y: 41,
                w: 28,
                h: 20,
            },
            vis("top-countries", 28, 41, 20, 10),
            vis("top-networks", 28, 51, 20, 10),
            vis("top-source-ips", 0, 61, 14, 14),
            vis("clients", 14, 61, 14, 14),
            vis("events-by-account-region", 28, 61, 20, 14),
            vis("user-agents", 0, 75, 24, 12),
            vis("top-resources", 24, 75, 24, 12),
            Panel {
                shows: Shows::Search("api-errors"),
                x: 0,
                y: 87,
                w: 48,
                h: 16,
            },
            vis("log-integrity", 0, 103, 24, 12),
        ],
        searches_from: None,
        filters: &[],
    },
    Dashboard {
        slug: "investigation",
        title: "CloudTrail investigation",
        description: "The saved searches side by side: deletions, security groups, errors, access denied, \
                      sign-ins, root, IAM, CloudTrail/Config, KMS, S3 access, network, under the actors and \
                      clients of what they show and the resources they touch. The filters (off until \
                      clicked) narrow every panel to writes, failures, or people rather than AWS services.",
        // Who and with what for whatever the filters keep, above the searches.
        panels: &[
            vis("events-over-time", 0, 0, 48, 10),
            vis("top-actors", 0, 10, 16, 12),
            vis("top-resources", 16, 10, 16, 12),
            vis("clients", 32, 10, 16, 12),
        ],
        searches_from: Some(22),
        filters: &[
            Filter {
                alias: "Writes only",
                key: READ_ONLY,
                value: Phrase::Bool(false),
                negate: false,
            },
            Filter {
                alias: "Failures only",
                key: OUTCOME,
                value: Phrase::Text("failure"),
                negate: false,
            },
            Filter {
                alias: "Not AWS services",
                key: USER_TYPE,
                value: Phrase::Text("AWSService"),
                negate: true,
            },
        ],
    },
];

impl Panel {
    /// The type and ID of the object it shows; `None` for Kibana's map when
    /// it is left out.
    fn target(
        &self,
        naming: &Naming,
        flavour: KibanaFlavour,
        with_map: bool,
    ) -> Option<(&'static str, String)> {
        match (&self.shows, flavour) {
            (Shows::Vis(slug), _) => Some(("visualization", naming.id("vis", slug))),
            (Shows::Search(slug), _) => Some(("search", naming.id("search", slug))),
            (Shows::Map, KibanaFlavour::Kibana) => with_map.then(|| ("map", naming.id("map", MAP_SLUG))),
            (Shows::Map, KibanaFlavour::OpenSearchDashboards) => {
                Some(("visualization", naming.id("vis", MAP_SLUG)))
            }
        }
    }
}

impl Filter {
    fn value(&self) -> Value {
        match self.value {
            Phrase::Bool(value) => json!(value),
            Phrase::Text(value) => json!(value),
        }
    }
}

impl Dashboard {
    /// Its panels, then every saved search when it shows them.
    fn panels(&self) -> impl Iterator<Item = Panel> + '_ {
        let searches = self.searches_from.into_iter().flat_map(|top| {
            (0..).zip(SEARCHES).map(move |(i, search)| Panel {
                shows: Shows::Search(search.slug),
                x: (i % 2) * SEARCH_W,
                y: top + (i / 2) * SEARCH_H,
                w: SEARCH_W,
                h: SEARCH_H,
            })
        });
        self.panels.iter().copied().chain(searches)
    }

    fn object(&self, naming: &Naming, flavour: KibanaFlavour, with_map: bool) -> Value {
        let mut references = Vec::new();
        let panels_json: Vec<Value> = self
            .panels()
            .filter_map(|panel| Some((panel.target(naming, flavour, with_map)?, panel)))
            .enumerate()
            .map(|(i, ((kind, id), panel))| {
                let name = format!("panel_{i}");
                references.push(json!({"name": name, "type": kind, "id": id}));
                let index = (i + 1).to_string();
                json!({
                    "version": "7.9.3",
                    "type": kind,
                    "gridData": {"x": panel.x, "y": panel.y, "w": panel.w, "h": panel.h, "i": index},
                    "panelIndex": index,
                    "embeddableConfig": {},
                    "panelRefName": name,
                })
            })
            .collect();
        let filters_json: Vec<Value> = self
            .filters
            .iter()
            .enumerate()
            .map(|(i, filter)| {
                let name = format!("kibanaSavedObjectMeta.searchSourceJSON.filter[{i}].meta.index");
                references
                    .push(json!({"name": name, "type": "index-pattern", "id": naming.index_pattern_id()}));
                let key = field(filter.key);
                let value = filter.value();
                json!({
                    "meta": {
                        "alias": filter.alias,
                        "negate": filter.negate,
                        "disabled": true,
                        "type": "phrase",
                        "key": key,
                        "params": {"query": value},
                        "indexRefName": name,
                    },
                    "query": {"match_phrase": {key: value}},
                    "$state": {"store": "appState"},
                })
            })
            .collect();
        let search_source = json!({"query": lucene(""), "filter": filters_json}).to_string();
        object(
            "dashboard",
            &naming.id("dashboard", self.slug),
            json!({
                "title": naming.title(self.title),
                "description": self.description,
                "panelsJSON": Value::Array(panels_json).to_string(),
                "optionsJSON": json!({"useMargins": true, "hidePanelTitles": false}).to_string(),
                "timeRestore": false,
                "version": 1,
                "kibanaSavedObjectMeta": {"searchSourceJSON": search_source},
            }),
            Value::Array(references),
        )
    }
}

/// The dashboards for one product; without Kibana's map (`with_map` false)
/// the overview has no map panel.
pub(crate) fn dashboard_objects(naming: &Naming, flavour: KibanaFlavour, with_map: bool) -> Vec<Value> {
    DASHBOARDS
        .iter()
        .map(|dashboard| dashboard.object(naming, flavour, with_map))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use trailsearch_mapping::catalogue_path;

    #[test]
    fn filters_name_catalogue_fields_only() {
        for dashboard in DASHBOARDS {
            for filter in dashboard.filters {
                assert!(catalogue_path(filter.key), "{}: {:?}", dashboard.slug, filter.key);
            }
        }
    }
}
