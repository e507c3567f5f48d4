//! What kind of cluster answers, from `GET /` (or, where `/` is not served,
//! the node info API).

use serde::Deserialize;
use trailsearch_mapping::{DateParsing, Flavour};

use crate::error::SinkError;

/// The cluster's product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Distribution {
    /// Elasticsearch.
    Elasticsearch,
    /// OpenSearch.
    OpenSearch,
}

/// What `GET /` says about the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterInfo {
    /// Elasticsearch or OpenSearch.
    pub distribution: Distribution,
    /// `major.minor.patch`.
    pub version: (u32, u32, u32),
    /// Elasticsearch's `build_flavor` (`default` or `oss`).
    pub build_flavor: Option<String>,
}

#[derive(Deserialize)]
struct Root {
    version: RootVersion,
}

#[derive(Deserialize)]
struct RootVersion {
    number: String,
    distribution: Option<String>,
    build_flavor: Option<String>,
}

#[derive(Deserialize)]
struct Nodes {
    nodes: std::collections::BTreeMap<String, NodeVersion>,
}

#[derive(Deserialize)]
struct NodeVersion {
    version: String,
    build_flavor: Option<String>,
}

/// `major.minor.patch` of a version number (`8.19.2-SNAPSHOT`, `7.10` too);
/// an error naming the text when it does not start with a number.
fn version_triple(url: &str, number: &str) -> Result<(u32, u32, u32), SinkError> {
    let mut parts = number
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().ok());
    let major = parts.next().flatten().ok_or_else(|| SinkError::InvalidResponse {
        url: url.to_string(),
        reason: format!("the cluster's version number {number:?} is not a version"),
    })?;
    Ok((
        major,
        parts.next().flatten().unwrap_or(0),
        parts.next().flatten().unwrap_or(0),
    ))
}

impl ClusterInfo {
    /// The path [`parse_nodes`](Self::parse_nodes) reads, asked where `GET /`
    /// answers 404 or 405.
    pub const NODES_PATH: &'static str = "/_nodes/_local?filter_path=nodes.*.version,nodes.*.build_flavor";

    /// Parses the node info answer of [`NODES_PATH`](Self::NODES_PATH).
    /// Only Elasticsearch can lack `GET /`: it lives in its `rest-root`
    /// module, which its integration-test distribution and some locked-down
    /// deployments leave out, while OpenSearch serves it from the server.
    pub fn parse_nodes(url: &str, body: &[u8]) -> Result<Self, SinkError> {
        let nodes: Nodes = serde_json::from_slice(body).map_err(|e| SinkError::InvalidResponse {
            url: url.to_string(),
            reason: format!("GET / is not served and the node info answer is not understood: {e}"),
        })?;
        let node = nodes
            .nodes
            .into_values()
            .next()
            .ok_or_else(|| SinkError::InvalidResponse {
                url: url.to_string(),
                reason: "GET / is not served and the node info answer names no node".into(),
            })?;
        Ok(ClusterInfo {
            distribution: Distribution::Elasticsearch,
            version: version_triple(url, &node.version)?,
            build_flavor: node.build_flavor,
        })
    }

    /// Parses the body of `GET /`.
    pub fn parse(url: &str, body: &[u8]) -> Result<Self, SinkError> {
        let invalid = |reason: String| SinkError::InvalidResponse {
            url: url.to_string(),
            reason,
        };
        let root: Root = serde_json::from_slice(body).map_err(|e| {
            invalid(format!(
                "GET / is not an Elasticsearch/OpenSearch root answer: {e}"
            ))
        })?;
        let version = version_triple(url, &root.version.number)?;
        let distribution = match root.version.distribution.as_deref() {
            Some("opensearch") => Distribution::OpenSearch,
            _ => Distribution::Elasticsearch,
        };
        Ok(ClusterInfo {
            distribution,
            version,
            build_flavor: root.version.build_flavor,
        })
    }

    /// The mapping flavour this cluster takes.
    pub fn flavour(&self) -> Result<Flavour, SinkError> {
        let (major, minor, _) = self.version;
        match self.distribution {
            Distribution::OpenSearch if (major, minor) >= (2, 7) => Ok(Flavour::OpenSearch),
            Distribution::OpenSearch => Ok(Flavour::Compatible),
            Distribution::Elasticsearch if (major, minor) < (7, 0) => Err(SinkError::Unsupported(format!(
                "Elasticsearch {major}.{minor}: trailsearch needs 7.0 or later"
            ))),
            Distribution::Elasticsearch if self.build_flavor.as_deref() == Some("oss") => {
                Ok(Flavour::Compatible)
            }
            Distribution::Elasticsearch if (major, minor) < (7, 3) => Ok(Flavour::Compatible),
            Distribution::Elasticsearch => Ok(Flavour::Elasticsearch),
        }
    }

    /// How the cluster best parses the events' timestamps:
    /// `rfc3339_lenient` from OpenSearch 2.12.
    pub fn date_parsing(&self) -> DateParsing {
        let (major, minor, _) = self.version;
        match self.distribution {
            Distribution::OpenSearch if (major, minor) >= (2, 12) => DateParsing::Rfc3339,
            _ => DateParsing::Default,
        }
    }

    /// Whether the cluster has composable templates (`_index_template`):
    /// Elasticsearch 7.8+ and every OpenSearch.
    pub fn composable_templates(&self) -> bool {
        self.distribution == Distribution::OpenSearch || (self.version.0, self.version.1) >= (7, 8)
    }

    /// `distribution major.minor.patch`.
    pub fn describe(&self) -> String {
        let (a, b, c) = self.version;
        let name = match self.distribution {
            Distribution::Elasticsearch => "Elasticsearch",
            Distribution::OpenSearch => "OpenSearch",
        };
        format!("{name} {a}.{b}.{c}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(body: &str) -> ClusterInfo {
        ClusterInfo::parse("http://x", body.as_bytes()).unwrap()
    }

    #[test]
    fn flavours_by_distribution_and_version() {
        let cases = [
            (
                r#"{"version":{"number":"8.15.1","build_flavor":"default"}}"#,
                Flavour::Elasticsearch,
                true,
                DateParsing::Default,
            ),
            (
                r#"{"version":{"number":"7.5.2","build_flavor":"default"}}"#,
                Flavour::Elasticsearch,
                false,
                DateParsing::Default,
            ),
            (
                r#"{"version":{"number":"7.10.2","build_flavor":"oss"}}"#,
                Flavour::Compatible,
                true,
                DateParsing::Default,
            ),
            (
                r#"{"version":{"number":"7.2.0"}}"#,
                Flavour::Compatible,
                false,
                DateParsing::Default,
            ),
            (
                r#"{"version":{"number":"2.11.0","distribution":"opensearch"}}"#,
                Flavour::OpenSearch,
                true,
                DateParsing::Default,
            ),
            (
                r#"{"version":{"number":"2.5.0","distribution":"opensearch"}}"#,
                Flavour::Compatible,
                true,
                DateParsing::Default,
            ),
            (
                r#"{"version":{"number":"2.12.0","distribution":"opensearch"}}"#,
                Flavour::OpenSearch,
                true,
                DateParsing::Rfc3339,
            ),
            (
                r#"{"version":{"number":"3.8.0","distribution":"opensearch"}}"#,
                Flavour::OpenSearch,
                true,
                DateParsing::Rfc3339,
            ),
        ];
        for (body, flavour, composable, dates) in cases {
            let info = info(body);
            assert_eq!(info.flavour().unwrap(), flavour, "{body}");
            assert_eq!(info.composable_templates(), composable, "{body}");
            assert_eq!(info.date_parsing(), dates, "{body}");
        }
        assert!(info(r#"{"version":{"number":"6.8.0"}}"#).flavour().is_err());
        // What Elasticsearch 8.19 and 9.5 without `rest-root` answer instead.
        let nodes = ClusterInfo::parse_nodes(
            "http://x",
            br#"{"nodes":{"lSy7DCExSpmJ9fYsifiNDg":{"version":"8.19.21","build_flavor":"default"}}}"#,
        )
        .unwrap();
        assert_eq!(nodes.describe(), "Elasticsearch 8.19.21");
        assert_eq!(nodes.flavour().unwrap(), Flavour::Elasticsearch);
        assert!(ClusterInfo::parse_nodes("http://x", br#"{"nodes":{}}"#).is_err());
        assert!(ClusterInfo::parse("http://x", b"<html>").is_err());
        let banana = ClusterInfo::parse(
            "http://x",
            br#"{"version":{"number":"banana","distribution":"opensearch"}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            banana.contains(r#"version number "banana" is not a version"#),
            "{banana}"
        );
    }
}
