//! `trailsearch search`: a Lookup without the 90-day limit.

use std::io::Write;

use anyhow::Context;
use serde_json::Value;
use trailsearch_mapping::SearchQuery;

use crate::args::{ClusterArgs, OutputFormat, SearchArgs};
use crate::cluster::{connect, settings};
use crate::display::escape_controls;
use crate::UsageError;

pub async fn run(args: &ClusterArgs, search: &SearchArgs) -> anyhow::Result<bool> {
    let settings = settings(args)?;
    let naming = settings.naming()?;
    check(search)?;
    let cluster = connect(&settings).await?;
    let sink = cluster.sink(&settings, naming.clone());
    let query = SearchQuery {
        from: search.from,
        to: search.to,
        event_names: search.event_name.clone(),
        user: search.user.clone(),
        errors_only: search.errors,
        source: search.source.clone(),
        resource: search.resource.clone(),
        lucene: search.query.clone(),
        limit: search.limit,
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut rows: Vec<[String; 6]> = Vec::new();
    let mut write_error = None;
    let total = sink
        .search_pages(
            &naming.pattern(),
            &query,
            search.page_size,
            |source| match search.format {
                // JSON lines stream out as pages arrive; a table needs every row to align.
                OutputFormat::Json => {
                    if write_error.is_none() {
                        write_error = writeln!(out, "{source}").err();
                    }
                }
                OutputFormat::Table => rows.push(row(source)),
            },
        )
        .await
        .with_context(|| format!("search over {} failed", naming.pattern()))?;
    if let Some(e) = write_error {
        return Err(e).context("cannot write to stdout");
    }
    if search.format == OutputFormat::Table {
        let width = terminal_size::terminal_size().map(|(w, _)| usize::from(w.0));
        write!(out, "{}", render_table(&rows, width))?;
        eprintln!("{} of {total} events", rows.len());
    }
    out.flush().context("cannot write to stdout")?;
    Ok(true)
}

/// What the parser cannot see: flags that contradict or ask for nothing.
fn check(search: &SearchArgs) -> Result<(), UsageError> {
    if let (Some(from), Some(to)) = (search.from, search.to) {
        if from > to {
            return Err(UsageError(format!("--from {from} is after --to {to}")));
        }
    }
    if search.limit == 0 {
        return Err(UsageError("--limit 0 asks for no events: give at least 1".into()));
    }
    for (flag, value) in [
        ("--user", &search.user),
        ("--source", &search.source),
        ("--resource", &search.resource),
        ("--query", &search.query),
    ] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            return Err(UsageError(format!(
                "{flag} is empty: give a value, or leave the flag out"
            )));
        }
    }
    Ok(())
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
    .map(|cell| escape_controls(&cell).into_owned())
}

fn cut(cell: &str, width: usize) -> String {
    if cell.chars().count() <= width {
        return cell.to_string();
    }
    let kept: String = cell.chars().take(width.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// Column widths: each column's widest cell up to its cap; then, to fit a
/// terminal, the widest columns give way first (never below 8 or the title;
/// the time never).
fn widths(rows: &[[String; 6]], terminal: Option<usize>) -> Vec<usize> {
    let mut widths: Vec<usize> = COLUMNS
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
    if let Some(terminal) = terminal {
        let gaps = 2 * (COLUMNS.len() - 1);
        let floors: Vec<usize> = widths
            .iter()
            .enumerate()
            .map(|(i, w)| {
                if i == 0 {
                    *w
                } else {
                    COLUMNS[i].0.len().max(8).min(*w)
                }
            })
            .collect();
        while widths.iter().sum::<usize>() + gaps > terminal {
            let shrinkable = (0..widths.len())
                .filter(|&i| widths[i] > floors[i])
                .max_by_key(|&i| widths[i]);
            match shrinkable {
                Some(i) => widths[i] -= 1,
                None => break,
            }
        }
    }
    widths
}

/// Aligned columns, long cells cut with an ellipsis; fitted to `terminal`
/// columns when given.
pub fn render_table(rows: &[[String; 6]], terminal: Option<usize>) -> String {
    let widths = widths(rows, terminal);
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
        let table = render_table(&[row(&a), row(&b)], None);
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
        // Fitted to 80 columns, every line fits and the time stays whole.
        let narrow = render_table(&[row(&a), row(&b)], Some(80));
        for line in narrow.lines() {
            assert!(line.chars().count() <= 80, "{line:?}");
        }
        assert!(
            narrow.lines().nth(1).unwrap().starts_with("2024-03-14T09:26:53Z"),
            "{narrow}"
        );
    }
}
