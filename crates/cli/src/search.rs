//! `trailsearch search`: a Lookup without the 90-day limit.

use std::io::Write;

use anyhow::Context;
use serde_json::Value;
use trailsearch_mapping::{derive, Derived, SearchQuery};

use crate::args::{ClusterArgs, SearchArgs, SearchFormat};
use crate::cluster::{connect, settings};
use crate::detail;
use crate::display::{derived_field, escape_controls, value_text as text};
use crate::UsageError;

pub async fn run(args: &ClusterArgs, search: &SearchArgs) -> anyhow::Result<bool> {
    let settings = settings(args)?;
    let naming = settings.naming()?;
    check(search)?;
    let cluster = connect(&settings).await?;
    let sink = cluster.sink(&settings, naming.clone());
    let session_keys = match (&search.user, search.follow_sessions) {
        (Some(user), true) => sink
            .session_keys(&naming.pattern(), user, search.page_size)
            .await
            .with_context(|| {
                format!(
                    "following the sessions of {user} over {} failed",
                    naming.pattern()
                )
            })?,
        _ => Vec::new(),
    };
    let query = SearchQuery {
        session_keys,
        from: search.from,
        to: search.to,
        event_names: search.event_name.clone(),
        user: search.user.clone(),
        errors_only: search.errors,
        source: search.source.clone(),
        resource: search.resource.clone(),
        lucene: search.query.clone(),
        limit: search.limit,
        issuing_only: false,
        provisional_only: search.provisional,
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut rows: Vec<[String; COLUMNS.len()]> = Vec::new();
    let mut write_error = None;
    if search.format == SearchFormat::Csv {
        write_error = writeln!(
            out,
            "{}",
            csv_line(CSV_COLUMNS.iter().map(|(name, _)| name.to_string()))
        )
        .err();
    }
    let total = sink
        .search_pages(&naming.pattern(), &query, search.page_size, |source| {
            // Everything but the table streams out as pages arrive; a table
            // needs every row to align.
            let written = match search.format {
                SearchFormat::Table => {
                    rows.push(row(source));
                    return;
                }
                SearchFormat::Json => writeln!(out, "{source}"),
                SearchFormat::Detail => write!(out, "{}", detail::render(source, search.full)),
                SearchFormat::Csv => writeln!(out, "{}", csv_row(source)),
            };
            if write_error.is_none() {
                write_error = written.err();
            }
        })
        .await
        .with_context(|| format!("search over {} failed", naming.pattern()))?;
    if let Some(e) = write_error {
        return Err(e).context("cannot write to stdout");
    }
    let shown = match search.format {
        SearchFormat::Table => {
            let width = terminal_size::terminal_size().map(|(w, _)| usize::from(w.0));
            write!(out, "{}", render_table(&rows, width))?;
            rows.len() as u64
        }
        _ => total.min(search.limit as u64),
    };
    out.flush().context("cannot write to stdout")?;
    if search.format != SearchFormat::Json {
        eprintln!("{shown} of {total} events");
    }
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

const COLUMNS: [(&str, usize); 7] = [
    ("TIME", 20),
    ("ACTOR", 40),
    ("EVENT", 32),
    ("SOURCE IP", 39),
    ("CLIENT", 14),
    ("RESOURCE", 48),
    ("ERROR", 32),
];

/// Who: the actor as indexed (or as indexing names it, for documents from
/// before the field), else the ARN, user name, principal or service.
fn actor(source: &Value, derived: &Derived) -> String {
    let identity = &source["userIdentity"];
    derived_field(source, "actor", &derived.actor)
        .or_else(|| {
            ["arn", "userName", "principalId", "invokedBy"]
                .iter()
                .find_map(|k| text(&identity[*k]))
        })
        .unwrap_or_else(|| "-".into())
}

/// What: the main resource (`trailsearch.resource`, from the table of
/// request parameters per service), else the first resource ARN, else a
/// request parameter whose name says it names one.
fn resource(source: &Value, derived: &Derived) -> String {
    if let Some(resource) = derived_field(source, "resource", &derived.resource) {
        return resource;
    }
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

fn row(source: &Value) -> [String; COLUMNS.len()] {
    let derived = derive(source);
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    [
        or_dash(text(&source["eventTime"])),
        actor(source, &derived),
        or_dash(text(&source["eventName"]).or_else(|| text(&source["eventType"]))),
        or_dash(text(&source["sourceIPAddress"])),
        or_dash(text(&source["trailsearch"]["client"])),
        resource(source, &derived),
        or_dash(text(&source["errorCode"])),
    ]
    .map(|cell| escape_controls(&cell).into_owned())
}

/// The CSV columns and where each value is in a document.
const CSV_COLUMNS: [(&str, &str); 15] = [
    ("time", "eventTime"),
    ("account", "recipientAccountId"),
    ("region", "awsRegion"),
    ("actor", "trailsearch.actor"),
    ("arn", "userIdentity.arn"),
    ("access_key", "userIdentity.accessKeyId"),
    ("event_source", "eventSource"),
    ("event_name", "eventName"),
    ("resource", "trailsearch.resource"),
    ("source_ip", "sourceIPAddress"),
    ("client", "trailsearch.client"),
    ("user_agent", "userAgent"),
    ("error_code", "errorCode"),
    ("error_message", "errorMessage"),
    ("event_id", "eventID"),
];

fn csv_row(source: &Value) -> String {
    let derived = derive(source);
    csv_line(CSV_COLUMNS.iter().map(|(name, path)| {
        let at = path.split('.').fold(source, |v, part| &v[part]);
        match *name {
            "actor" => derived_field(source, "actor", &derived.actor),
            "resource" => derived_field(source, "resource", &derived.resource),
            _ => text(at),
        }
        .unwrap_or_default()
    }))
}

/// One RFC 4180 line. A cell a spreadsheet would run as a formula (`=`,
/// `+`, `-`, `@` first: user agents and request values are chosen by
/// callers) gets a leading `'`, as OWASP advises.
fn csv_line(cells: impl Iterator<Item = String>) -> String {
    cells
        .map(|cell| {
            let cell = match cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                true => format!("'{cell}"),
                false => cell,
            };
            if cell.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", cell.replace('"', "\"\""))
            } else {
                cell
            }
        })
        .collect::<Vec<_>>()
        .join(",")
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
fn widths(rows: &[[String; COLUMNS.len()]], terminal: Option<usize>) -> Vec<usize> {
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
pub fn render_table(rows: &[[String; COLUMNS.len()]], terminal: Option<usize>) -> String {
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
    fn table_rows_pick_actor_client_and_resource() {
        let a = json!({"eventTime": "2024-03-14T09:26:53Z", "eventName": "DeleteDBInstance", "eventSource": "rds.amazonaws.com",
            "userIdentity": {"type": "IAMUser", "userName": "alice", "arn": "arn:aws:iam::111122223333:user/alice"},
            "sourceIPAddress": "203.0.113.42", "trailsearch": {"client": "aws-cli"},
            "requestParameters": {"skipFinalSnapshot": true, "dBInstanceIdentifier": "prod-orders-db"}});
        let b = json!({"eventTime": "2024-03-15T02:00:01Z", "eventName": "GetParameter", "errorCode": "AccessDeniedException",
            "userIdentity": {"invokedBy": "x"}, "resources": [{"ARN": "arn:aws:ssm:eu-west-1:1:parameter/p"}]});
        let table = render_table(&[row(&a), row(&b)], None);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines,
            [
                "TIME                  ACTOR  EVENT             SOURCE IP     CLIENT   RESOURCE                             ERROR",
                "2024-03-14T09:26:53Z  alice  DeleteDBInstance  203.0.113.42  aws-cli  prod-orders-db                       -",
                "2024-03-15T02:00:01Z  x      GetParameter      -             -        arn:aws:ssm:eu-west-1:1:parameter/p  AccessDeniedException",
            ],
            "{table}"
        );
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

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let event = json!({"eventTime": "2024-03-14T09:26:53Z", "eventName": "GetObject", "eventSource": "s3.amazonaws.com",
            "userAgent": "=HYPERLINK(\"http://x\")", "errorMessage": "a, b\nc",
            "requestParameters": {"bucketName": "b1"}, "userIdentity": {"type": "Root"}});
        assert_eq!(
            csv_row(&event),
            "2024-03-14T09:26:53Z,,,root,,,s3.amazonaws.com,GetObject,b1,,,\"'=HYPERLINK(\"\"http://x\"\")\",,\"a, b\nc\","
        );
        assert_eq!(
            csv_line(CSV_COLUMNS.iter().map(|(n, _)| n.to_string())),
            "time,account,region,actor,arn,access_key,event_source,event_name,resource,source_ip,client,user_agent,error_code,error_message,event_id"
        );
    }
}
