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

mod dashboards;
mod fields;
mod map;
mod objects;
mod query;
mod searches;
mod views;

use serde_json::Value;

use trailsearch_mapping::IndexNaming;

use map::MAP_TITLE;
use objects::Naming;
pub use searches::{saved_searches, SavedSearch};

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
    let mut objects = vec![objects::index_pattern(&naming)];
    objects.extend(
        saved_searches()
            .iter()
            .map(|search| searches::search_object(search, &naming)),
    );
    objects.extend(views::visualization_objects(&naming, flavour));
    if flavour == KibanaFlavour::Kibana && with_map {
        objects.push(map::kibana_map(&naming));
    }
    objects.extend(dashboards::dashboard_objects(&naming, flavour, with_map));
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
