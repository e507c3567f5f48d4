//! Retention: delete event indices whose name date is older than a cutoff.

use reqwest::Method;
use serde::Deserialize;
use trailsearch_mapping::IndexNaming;

use crate::error::SinkError;
use crate::transport::Transport;

/// The event indices older than `cutoff` (every day they can hold is
/// before it), chosen from `names`. Only names the naming itself produces
/// qualify: the dead-letter index and anything else are never chosen.
pub fn indices_to_prune(names: &[String], naming: &IndexNaming, cutoff: chrono::NaiveDate) -> Vec<String> {
    let mut old: Vec<String> = names
        .iter()
        .filter(|name| naming.last_date_of(name).is_some_and(|last| last < cutoff))
        .cloned()
        .collect();
    old.sort();
    old
}

#[derive(Deserialize)]
struct CatIndex {
    index: String,
}

/// Lists the event indices and deletes those older than `cutoff`, one by
/// one (never by wildcard). Returns the names deleted, or that would be with `dry_run`.
pub async fn prune_indices(
    transport: &Transport,
    naming: &IndexNaming,
    cutoff: chrono::NaiveDate,
    dry_run: bool,
) -> Result<Vec<String>, SinkError> {
    let path = format!(
        "_cat/indices/{}?format=json&h=index&expand_wildcards=open,closed",
        naming.pattern()
    );
    let response = transport.send(Method::GET, &path, None).await?;
    let names: Vec<String> = match response.status {
        200 => serde_json::from_slice::<Vec<CatIndex>>(&response.body)
            .map_err(|e| SinkError::InvalidResponse {
                url: path.clone(),
                reason: e.to_string(),
            })?
            .into_iter()
            .map(|i| i.index)
            .collect(),
        404 => Vec::new(),
        _ => return Err(transport.status_error(&Method::GET, &path, &response)),
    };
    let old = indices_to_prune(&names, naming, cutoff);
    if !dry_run {
        for index in &old {
            transport.send_ok(Method::DELETE, index, None).await?;
        }
    }
    Ok(old)
}

#[cfg(test)]
mod tests {
    use super::*;
    use trailsearch_mapping::Granularity;

    #[test]
    fn only_our_dated_indices_before_the_cutoff() {
        let naming = IndexNaming::new("ct", Granularity::Day).unwrap();
        let names: Vec<String> = [
            "ct-2023.12.31",
            "ct-2024.01",
            "ct-2024.01.01",
            "ct-2024.02",
            "ct_deadletter",
            "ct-kibana",
            "ctx-2020.01.01",
            "ct-2020.01.01-restored",
        ]
        .map(String::from)
        .to_vec();
        let cutoff = chrono::NaiveDate::from_ymd_opt(2024, 2, 1).unwrap();
        assert_eq!(
            indices_to_prune(&names, &naming, cutoff),
            ["ct-2023.12.31", "ct-2024.01", "ct-2024.01.01"]
        );
    }
}
