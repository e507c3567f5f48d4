//! `trailsearch deadletter list|replay`: the dead-letter index by reason, and
//! replaying it through the current mapping.

use std::sync::Arc;

use serde_json::json;
use trailsearch_ingest::{Cluster, Settings};
use trailsearch_mapping::{Document, IndexNaming, Provenance};
use trailsearch_sink::{
    delete_dead_letters, group_by_reason, indexed_events, DeadLetter, DeadLetterScroll, DocumentSink,
    Indexed, ReasonCount,
};

use crate::args::{ClusterArgs, DeadletterCommand, DeadletterListArgs, DeadletterReplayArgs, OutputFormat};
use crate::cluster::{connect, settings};
use crate::display::escape_controls;

/// Dead letters read per page when listing.
const LIST_PAGE: usize = 1000;

pub async fn run(args: &ClusterArgs, command: &DeadletterCommand) -> anyhow::Result<bool> {
    let settings = settings(args)?;
    let naming = settings.naming()?;
    let cluster = match command {
        DeadletterCommand::Replay(_) => crate::cluster::connect_enriching(&settings).await?,
        DeadletterCommand::List(_) => connect(&settings).await?,
    };
    match command {
        DeadletterCommand::List(list) => run_list(&cluster, &naming, list).await,
        DeadletterCommand::Replay(replay) => run_replay(&cluster, &settings, naming, replay).await,
    }
}

async fn run_list(
    cluster: &Cluster,
    naming: &IndexNaming,
    args: &DeadletterListArgs,
) -> anyhow::Result<bool> {
    let index = naming.deadletter_index();
    let mut scroll = DeadLetterScroll::new(&cluster.transport, &index, LIST_PAGE);
    let mut reasons = Vec::new();
    while let Some(page) = scroll.next_page().await? {
        reasons.extend(page.into_iter().map(|letter| letter.reason));
    }
    let groups = group_by_reason(reasons.iter().map(String::as_str));
    let total = reasons.len() as u64;
    match args.format {
        OutputFormat::Json => println!("{}", json!({"index": index, "total": total, "reasons": groups})),
        OutputFormat::Table => {
            print!("{}", reason_table("COUNT", &groups));
            eprintln!("{total} dead letters in {index}");
        }
    }
    Ok(true)
}

/// `COUNT  REASON` lines, counts right-aligned; nothing when there are no groups.
fn reason_table(heading: &str, groups: &[ReasonCount]) -> String {
    if groups.is_empty() {
        return String::new();
    }
    let width = groups
        .iter()
        .map(|g| g.count.to_string().len())
        .chain([heading.len()])
        .max()
        .unwrap_or(heading.len());
    let mut out = format!("{heading:>width$}  REASON\n");
    for group in groups {
        out.push_str(&format!(
            "{:>width$}  {}\n",
            group.count,
            escape_controls(&group.reason)
        ));
    }
    out
}

/// What a replay did with the dead letters it read.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct ReplayTally {
    /// Dead letters read.
    events: u64,
    /// Now indexed whole.
    indexed: u64,
    /// Already in their event index.
    duplicates: u64,
    /// Now indexed degraded.
    degraded: u64,
    /// Still not in an event index: they stay.
    dead_lettered: u64,
    /// Not settled because the batch failed: they stay.
    failed_events: u64,
    /// Dead letters deleted.
    removed: u64,
    /// The stored reasons of the dead letters that stay.
    kept: Vec<String>,
}

impl ReplayTally {
    fn to_json(&self) -> serde_json::Value {
        json!({
            "events": self.events,
            "indexed": self.indexed,
            "duplicates": self.duplicates,
            "degraded": self.degraded,
            "dead_lettered": self.dead_lettered,
            "failed_events": self.failed_events,
            "removed": self.removed,
            "kept": group_by_reason(self.kept.iter().map(String::as_str)),
        })
    }

    fn summary(&self) -> String {
        format!(
            "events={} indexed={} duplicates={} degraded={} dead_lettered={} failed_events={} removed={}",
            self.events,
            self.indexed,
            self.duplicates,
            self.degraded,
            self.dead_lettered,
            self.failed_events,
            self.removed
        )
    }
}

async fn run_replay(
    cluster: &Cluster,
    settings: &Settings,
    naming: IndexNaming,
    args: &DeadletterReplayArgs,
) -> anyhow::Result<bool> {
    let index = naming.deadletter_index();
    let sink = cluster.sink(settings, naming.clone());
    let shaper = cluster.shaper(naming);
    let mut tally = ReplayTally::default();
    let mut clean = true;
    // The scroll is a snapshot: deleting what it already returned does not shift its pages.
    let mut scroll = DeadLetterScroll::new(&cluster.transport, &index, args.page_size);
    while let Some(page) = scroll.next_page().await? {
        let mut sent: Vec<DeadLetter> = Vec::new();
        let mut docs: Vec<Document> = Vec::new();
        for letter in page {
            tally.events += 1;
            let provenance = letter
                .source
                .clone()
                .unwrap_or_else(|| Provenance::local(format!("{index}/{}", letter.id)));
            match shaper.shape(letter.record.as_bytes(), Arc::new(provenance)) {
                Ok(shaped) => {
                    docs.push(shaped.document);
                    sent.push(letter);
                }
                // Still cannot be placed in an event index: it stays as it is.
                Err(_) => {
                    tally.dead_lettered += 1;
                    tally.kept.push(letter.reason);
                }
            }
        }
        let checks = docs.clone();
        // The normal path: refused documents are degraded, refused again dead-lettered
        // (under the same `_id`, so the stored dead letter is what stays).
        let (settled, unsettled) = match sink.settle(docs).await {
            Ok(settled) => (settled, 0),
            Err(error) => {
                eprintln!(
                    "error: {error} ({} dead letters left as they are)",
                    error.unsettled
                );
                clean = false;
                (error.settled, error.unsettled)
            }
        };
        // Only a dead letter whose own event an event index holds now is
        // removed (not one whose eventID another event holds).
        let found: Vec<bool> = indexed_events(&cluster.transport, &checks)
            .await?
            .into_iter()
            .map(|indexed| indexed == Indexed::Same)
            .collect();
        let now_indexed: Vec<&DeadLetter> = sent
            .iter()
            .zip(&found)
            .filter_map(|(letter, found)| found.then_some(letter))
            .collect();
        let in_events = now_indexed.len() as u64;
        let not_in_events = sent.len() as u64 - in_events;
        tally.indexed += settled.indexed;
        tally.degraded += settled.degraded;
        tally.duplicates += in_events.saturating_sub(settled.indexed + settled.degraded);
        let failed = unsettled.min(not_in_events);
        tally.failed_events += failed;
        tally.dead_lettered += not_in_events - failed;
        for (letter, found) in sent.iter().zip(&found) {
            if !found {
                tally.kept.push(letter.reason.clone());
            }
        }
        let ids: Vec<String> = now_indexed.iter().map(|letter| letter.id.clone()).collect();
        let gone = delete_dead_letters(&cluster.transport, &index, &ids).await?;
        for (letter, gone) in now_indexed.iter().zip(&gone) {
            if *gone {
                tally.removed += 1;
            } else {
                eprintln!(
                    "error: dead letter {} is indexed but could not be deleted from {index}",
                    letter.id
                );
                tally.kept.push(letter.reason.clone());
                clean = false;
            }
        }
    }
    match args.format {
        OutputFormat::Json => println!("{}", tally.to_json()),
        OutputFormat::Table => {
            println!("{}", tally.summary());
            let kept = group_by_reason(tally.kept.iter().map(String::as_str));
            print!("{}", reason_table("KEPT", &kept));
        }
    }
    Ok(clean && tally.dead_lettered == 0 && tally.failed_events == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_table_aligns_counts() {
        let groups = group_by_reason(["a", "b", "a"]);
        assert_eq!(
            reason_table("COUNT", &groups),
            "COUNT  REASON\n    2  a\n    1  b\n"
        );
        assert_eq!(reason_table("KEPT", &[]), "");
    }

    #[test]
    fn tally_json_has_the_report_keys() {
        let tally = ReplayTally {
            events: 3,
            indexed: 1,
            duplicates: 1,
            dead_lettered: 1,
            removed: 2,
            kept: vec!["r".into()],
            ..ReplayTally::default()
        };
        assert_eq!(
            tally.to_json(),
            json!({"events":3,"indexed":1,"duplicates":1,"degraded":0,"dead_lettered":1,"failed_events":0,"removed":2,"kept":[{"reason":"r","count":1}]})
        );
        assert_eq!(
            tally.summary(),
            "events=3 indexed=1 duplicates=1 degraded=0 dead_lettered=1 failed_events=0 removed=2"
        );
    }
}
