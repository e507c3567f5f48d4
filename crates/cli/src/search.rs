//! `trailsearch search`: a Lookup without the 90-day limit.

use std::io::Write;

use anyhow::Context;
use serde_json::Value;
use trailsearch_mapping::SearchQuery;

use crate::args::{ClusterArgs, OutputFormat, SearchArgs};
use crate::cluster::{connect, settings};

pub async fn run(args: &ClusterArgs, search: &SearchArgs) -> anyhow::Result<bool> {
    let settings = settings(args)?;
    let naming = settings.naming()?;
    let cluster = connect(&settings).await?;
    let sink = cluster.sink(&settings, naming.clone());
    let query = SearchQuery {
        from: search.from,
        to: search.to,
        event_names: search.event_name.clone(),
        user: search.user.clone(),
        errors_only: search.errors,
        lucene: search.query.clone(),
        limit: search.limit,
    };
    let answer = sink
        .search(&naming.pattern(), &query.to_body())
        .await
        .with_context(|| format!("search over {} failed", naming.pattern()))?;
    let hits: Vec<&Value> = answer["hits"]["hits"]
        .as_array()
        .map(|hits| hits.iter().map(|hit| &hit["_source"]).collect())
        .unwrap_or_default();
    let total = answer["hits"]["total"]["value"]
        .as_u64()
        .unwrap_or(hits.len() as u64);
    let mut out = std::io::stdout().lock();
    match search.format {
        OutputFormat::Json => {
            for source in &hits {
                writeln!(out, "{source}")?;
            }
        }
        OutputFormat::Table => {
            write!(out, "{}", render_table(&hits))?;
            eprintln!("{} of {total} events", hits.len());
        }
    }
    Ok(true)
}

const COLUMNS: [(&str, usize); 6] = [
    ("TIME", 20),
    ("USER", 64),
    ("EVENT", 32),
    ("SOURCE IP", 39),
    ("RESOURCE", 48),
    ("ERROR", 32),
];

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Who: the ARN, else the user name, principal or invoking service.
fn user(source: &Value) -> String {
    let identity = &source["userIdentity"];
    ["arn", "userName", "principalId", "invokedBy"]
        .iter()
        .find_map(|k| text(&identity[*k]))
        .unwrap_or_else(|| "-".into())
}

/// What: the first resource ARN, else a request parameter that names one.
fn resource(source: &Value) -> String {
    if let Some(arn) = source["resources"]
        .as_array()
        .and_then(|r| r.iter().find_map(|r| text(&r["ARN"])))
    {
        return arn;
    }
    if let Some(params) = source["requestParameters"].as_object() {
        let names = params.iter().find(|(k, v)| {
            let k = k.to_ascii_lowercase();
            v.is_string()
                && ["identifier", "id", "name", "arn", "bucketname"]
                    .iter()
                    .any(|s| k.ends_with(s))
        });
        if let Some((_, v)) = names {
            return text(v).unwrap_or_default();
        }
    }
    "-".into()
}

fn row(source: &Value) -> [String; 6] {
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    [
        or_dash(text(&source["eventTime"])),
        user(source),
        or_dash(text(&source["eventName"]).or_else(|| text(&source["eventType"]))),
        or_dash(text(&source["sourceIPAddress"])),
        resource(source),
        or_dash(text(&source["errorCode"])),
    ]
}

fn cut(cell: &str, width: usize) -> String {
    if cell.chars().count() <= width {
        return cell.to_string();
    }
    let kept: String = cell.chars().take(width.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// Aligned columns, long cells cut with an ellipsis.
pub fn render_table(hits: &[&Value]) -> String {
    let rows: Vec<[String; 6]> = hits.iter().map(|s| row(s)).collect();
    let widths: Vec<usize> = COLUMNS
        .iter()
        .enumerate()
        .map(|(i, (title, max))| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([title.len()])
                .max()
                .unwrap_or(0)
                .min(*max)
        })
        .collect();
    let mut out = String::new();
    let mut line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{:<w$}", cut(c, *w), w = *w))
            .collect();
        out.push_str(padded.join("  ").trim_end());
        out.push('\n');
    };
    line(COLUMNS.iter().map(|(t, _)| t.to_string()).collect());
    for r in rows {
        line(r.to_vec());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn table_rows_pick_user_and_resource() {
        let a = json!({"eventTime": "2024-03-14T09:26:53Z", "eventName": "DeleteDBInstance",
            "userIdentity": {"arn": "arn:aws:iam::111122223333:user/alice"}, "sourceIPAddress": "203.0.113.42",
            "requestParameters": {"dBInstanceIdentifier": "prod-orders-db", "skipFinalSnapshot": true}});
        let b = json!({"eventTime": "2024-03-15T02:00:01Z", "eventName": "GetParameter", "errorCode": "AccessDeniedException",
            "userIdentity": {"invokedBy": "x"}, "resources": [{"ARN": "arn:aws:ssm:eu-west-1:1:parameter/p"}]});
        let table = render_table(&[&a, &b]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("TIME                  USER"), "{table}");
        assert!(
            lines[1].contains("arn:aws:iam::111122223333:user/alice  DeleteDBInstance  203.0.113.42"),
            "{table}"
        );
        assert!(lines[1].contains("prod-orders-db"), "{table}");
        assert!(lines[2].ends_with("AccessDeniedException"), "{table}");
        assert_eq!(cut("abcdef", 4), "abc…");
    }
}
