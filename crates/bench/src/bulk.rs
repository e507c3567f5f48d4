//! Reads a `_bulk` body the way a cluster must before indexing anything:
//! every action line parsed, every source line checked, and answers that
//! every item was created. What the null endpoint does with each request.

use serde::de::IgnoredAny;
use serde_json::Value;

/// How thoroughly source lines are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceCheck {
    /// Parsed as JSON (syntax only, nothing allocated) and must be an object.
    Parse,
    /// Only `{ ... }` after trimming: cheaper, for when parsing would make
    /// the endpoint the bottleneck.
    Braces,
}

/// A body read whole.
#[derive(Debug)]
pub struct Accepted {
    /// Items (action + source pairs).
    pub items: u64,
    /// The bulk response.
    pub response: Vec<u8>,
}

/// Checks every item of an NDJSON bulk body and builds the answer
/// (`{"took":0,"errors":false,"items":[{"create":{..,"status":201}}]}`).
/// `url_index` is the index of a `/{index}/_bulk` request. An error says
/// which line is wrong; nothing is counted then.
pub fn accept(body: &[u8], url_index: Option<&str>, check: SourceCheck) -> Result<Accepted, String> {
    let mut response = Vec::with_capacity(body.len() / 16 + 64);
    response.extend_from_slice(b"{\"took\":0,\"errors\":false,\"items\":[");
    let mut lines = body.split(|&b| b == b'\n').enumerate();
    let mut items = 0u64;
    while let Some((n, line)) = lines.next() {
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        let action: Value =
            serde_json::from_slice(line).map_err(|e| format!("line {}: action is not JSON: {e}", n + 1))?;
        let (op, meta) = match action.as_object() {
            Some(map) if map.len() == 1 => map
                .iter()
                .next()
                .ok_or_else(|| format!("line {}: empty action", n + 1))?,
            _ => return Err(format!("line {}: an action is an object with one key", n + 1)),
        };
        if op != "create" && op != "index" {
            return Err(format!(
                "line {}: unsupported action {op:?} (create or index)",
                n + 1
            ));
        }
        let meta = meta
            .as_object()
            .ok_or_else(|| format!("line {}: {op} takes an object", n + 1))?;
        let index = match meta.get("_index") {
            Some(Value::String(index)) => index.as_str(),
            Some(_) => return Err(format!("line {}: _index is not a string", n + 1)),
            None => url_index.ok_or_else(|| format!("line {}: no _index in the action or the URL", n + 1))?,
        };
        let id = match meta.get("_id") {
            Some(Value::String(id)) => id.clone(),
            Some(_) => return Err(format!("line {}: _id is not a string", n + 1)),
            // Clusters make one up; so do we.
            None => format!("null-{items}"),
        };
        let (m, source) = lines
            .next()
            .ok_or_else(|| format!("line {}: {op} without a source line", n + 1))?;
        let source = source.trim_ascii();
        if !(source.starts_with(b"{") && source.ends_with(b"}")) {
            return Err(format!("line {}: the source is not a JSON object", m + 1));
        }
        if check == SourceCheck::Parse {
            serde_json::from_slice::<IgnoredAny>(source)
                .map_err(|e| format!("line {}: the source is not JSON: {e}", m + 1))?;
        }
        if items > 0 {
            response.push(b',');
        }
        response.extend_from_slice(b"{\"");
        response.extend_from_slice(op.as_bytes());
        response.extend_from_slice(b"\":{\"_index\":");
        write_json_str(&mut response, index)?;
        response.extend_from_slice(b",\"_id\":");
        write_json_str(&mut response, &id)?;
        response.extend_from_slice(b",\"status\":201,\"result\":\"created\"}}");
        items += 1;
    }
    response.extend_from_slice(b"]}");
    Ok(Accepted { items, response })
}

fn write_json_str(out: &mut Vec<u8>, s: &str) -> Result<(), String> {
    serde_json::to_writer(out, s).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = b"{\"create\":{\"_index\":\"cloudtrail-2026.11.20\",\"_id\":\"a\"}}\n{\"x\":1}\n\
{\"index\":{\"_id\":\"b\"}}\n{\"y\":{\"z\":[1,2]}}\n";

    #[test]
    fn answers_every_item() {
        for check in [SourceCheck::Parse, SourceCheck::Braces] {
            let done = accept(BODY, Some("from-url"), check).unwrap();
            assert_eq!(done.items, 2);
            let answer: Value = serde_json::from_slice(&done.response).unwrap();
            assert_eq!(answer["errors"], false);
            assert_eq!(answer["items"][0]["create"]["_index"], "cloudtrail-2026.11.20");
            assert_eq!(answer["items"][0]["create"]["status"], 201);
            assert_eq!(answer["items"][1]["index"]["_index"], "from-url");
            assert_eq!(answer["items"][1]["index"]["_id"], "b");
        }
    }

    #[test]
    fn refuses_what_a_cluster_refuses() {
        let cases: &[&[u8]] = &[
            b"{\"delete\":{\"_index\":\"i\",\"_id\":\"a\"}}\n",
            b"{\"create\":{\"_id\":\"a\"}}\n{}\n",
            b"{\"create\":{\"_index\":\"i\"},\"index\":{}}\n{}\n",
            b"{\"create\":{\"_index\":\"i\"}}\n",
            b"{\"create\":{\"_index\":\"i\"}}\n[1]\n",
            b"not json\n{}\n",
        ];
        for body in cases {
            assert!(
                accept(body, None, SourceCheck::Braces).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert!(accept(
            b"{\"create\":{\"_index\":\"i\"}}\n{\"a\":}\n",
            None,
            SourceCheck::Parse
        )
        .is_err());
        assert_eq!(accept(b"", None, SourceCheck::Parse).unwrap().items, 0);
    }
}
