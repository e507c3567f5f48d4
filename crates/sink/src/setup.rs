//! Setup calls: install the templates, refusing to fight another template.

use reqwest::Method;
use serde_json::Value;
use trailsearch_mapping::{
    deadletter_template, index_template, integrity_template, legacy_deadletter_template,
    legacy_index_template, legacy_integrity_template, Flavour, IndexNaming, TEMPLATE_PRIORITY,
    TEMPLATE_VERSION,
};

use crate::error::SinkError;
use crate::flavour::ClusterInfo;
use crate::transport::{RequestBody, Transport};

/// What setup did to one template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateChange {
    /// Template name.
    pub name: String,
    /// Version installed before, if any.
    pub previous_version: Option<u64>,
    /// Version installed now.
    pub version: u32,
}

/// Another template that claims indices named like ours, found in a
/// `GET _index_template` answer: one whose patterns match our index names
/// with a priority at least ours (the cluster would use it, or refuse ours).
pub fn conflicting_template(templates: &Value, naming: &IndexNaming, ours: &[String]) -> Option<SinkError> {
    // Any dated name will do: patterns are compared against a real one.
    let sample = format!("{}-2024.01.01", naming.prefix());
    let list = templates.get("index_templates")?.as_array()?;
    for entry in list {
        let name = entry.get("name").and_then(Value::as_str).unwrap_or("");
        if ours.iter().any(|o| o == name) {
            continue;
        }
        let template = entry.get("index_template").unwrap_or(&Value::Null);
        let priority = template.get("priority").and_then(Value::as_u64).unwrap_or(0);
        let patterns: Vec<String> = template
            .get("index_patterns")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        if priority >= u64::from(TEMPLATE_PRIORITY) && patterns.iter().any(|p| glob_match(p, &sample)) {
            return Some(SinkError::TemplateConflict {
                name: name.to_string(),
                priority,
                patterns,
                pattern: naming.pattern(),
                ours: TEMPLATE_PRIORITY,
            });
        }
    }
    None
}

/// Glob with `*` only, as index patterns are.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first)
        || !text[first.len()..].ends_with(last)
        || text.len() < first.len() + last.len()
    {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

/// Installs (or updates) the event, dead-letter and integrity templates.
pub async fn install_templates(
    transport: &Transport,
    info: &ClusterInfo,
    flavour: Flavour,
    naming: &IndexNaming,
    replicas: u32,
) -> Result<Vec<TemplateChange>, SinkError> {
    let names = [
        naming.template_name(),
        naming.deadletter_template_name(),
        naming.integrity_template_name(),
    ];
    let (api, bodies, installed) = if info.composable_templates() {
        let all = transport.send_ok(Method::GET, "_index_template", None).await?;
        let all: Value = serde_json::from_slice(&all.body).map_err(|e| SinkError::InvalidResponse {
            url: "_index_template".into(),
            reason: e.to_string(),
        })?;
        if let Some(conflict) = conflicting_template(&all, naming, &names) {
            return Err(conflict);
        }
        let bodies = [
            index_template(flavour, info.date_parsing(), naming, replicas),
            deadletter_template(naming, replicas),
            integrity_template(naming, replicas),
        ];
        ("_index_template", bodies, Some(all))
    } else {
        // Legacy templates: no priority to compare; `order` decides.
        let bodies = [
            legacy_index_template(flavour, naming, replicas),
            legacy_deadletter_template(naming, replicas),
            legacy_integrity_template(naming, replicas),
        ];
        ("_template", bodies, None)
    };
    let mut changes = Vec::new();
    for (name, body) in names.iter().zip(bodies) {
        let previous_version = installed.as_ref().and_then(|all| installed_version(all, name));
        transport
            .send_ok(
                Method::PUT,
                &format!("{api}/{name}"),
                Some(RequestBody::json(&body)),
            )
            .await?;
        changes.push(TemplateChange {
            name: name.clone(),
            previous_version,
            version: TEMPLATE_VERSION,
        });
    }
    Ok(changes)
}

/// Whether the event template is installed (ingest refuses to create
/// indices with dynamic mappings).
pub async fn template_installed(
    transport: &Transport,
    info: &ClusterInfo,
    naming: &IndexNaming,
) -> Result<bool, SinkError> {
    let api = if info.composable_templates() {
        "_index_template"
    } else {
        "_template"
    };
    let path = format!("{api}/{}", naming.template_name());
    let response = transport.send(Method::GET, &path, None).await?;
    match response.status {
        200..=299 => Ok(true),
        404 => Ok(false),
        _ => Err(transport.status_error(&Method::GET, &path, &response)),
    }
}

fn installed_version(all: &Value, name: &str) -> Option<u64> {
    all.get("index_templates")?
        .as_array()?
        .iter()
        .find(|t| t.get("name").and_then(Value::as_str) == Some(name))?
        .get("index_template")?
        .get("version")?
        .as_u64()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use trailsearch_mapping::Granularity;

    #[test]
    fn globs() {
        assert!(glob_match("cloudtrail-*", "cloudtrail-2024.01.01"));
        assert!(glob_match("*", "x"));
        assert!(glob_match("cl*trail-*", "cloudtrail-2024.01.01"));
        assert!(!glob_match("logs-*", "cloudtrail-2024.01.01"));
        assert!(!glob_match("cloudtrail-2024.01.01-*", "cloudtrail-2024.01.01"));
        assert!(glob_match("exact", "exact"));
    }

    #[test]
    fn higher_priority_template_on_our_pattern_conflicts() {
        let naming = IndexNaming::new("cloudtrail", Granularity::Day).unwrap();
        let ours = [naming.template_name(), naming.deadletter_template_name()];
        let answer = |name: &str, priority: u64, pattern: &str| json!({"index_templates": [{"name": name, "index_template": {"index_patterns": [pattern], "priority": priority}}]});
        assert!(conflicting_template(&answer("other", 500, "cloud*"), &naming, &ours).is_some());
        assert!(conflicting_template(&answer("other", 200, "*"), &naming, &ours).is_some());
        assert!(conflicting_template(&answer("other", 100, "*"), &naming, &ours).is_none());
        assert!(conflicting_template(&answer("other", 900, "logs-*"), &naming, &ours).is_none());
        assert!(
            conflicting_template(&answer("cloudtrail-events", 900, "cloudtrail-*"), &naming, &ours).is_none()
        );
        let err = conflicting_template(&answer("other", 500, "cloud*"), &naming, &ours)
            .unwrap()
            .to_string();
        assert!(
            err.contains("\"other\"") && err.contains("--index-prefix"),
            "{err}"
        );
    }
}
