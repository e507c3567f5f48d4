//! `trace`: the loop that follows an event's credentials back, one lookup
//! per hop, over the pure steps of `trailsearch_mapping::trace`.

use std::collections::{BTreeSet, HashSet};

use serde::Serialize;
use serde_json::Value;
use trailsearch_mapping::trace::{
    earliest_body, event_body, identity_store, issued_key_body, issued_session_body, next_step, pick,
    session_origin, shared_event_body, Hop, Origin, Step, MAX_HOPS,
};
use trailsearch_mapping::SearchQuery;

use crate::client::Sink;
use crate::error::SinkError;

/// Rounds of `--follow-sessions` at most: one per role hop.
const MAX_SESSION_ROUNDS: usize = 20;

/// Issuing calls read per round at most.
const ISSUING_CALLS_PER_ROUND: usize = 100_000;

/// A followed chain: the traced event first, then each call that issued
/// the credentials of the one before; and where it ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trace {
    /// Newest first.
    pub hops: Vec<Hop>,
    /// Who is behind it, or why the chain stops.
    pub origin: Origin,
    /// The index pattern searched.
    pub searched: String,
    /// The earliest event time indexed: a chain cannot be followed past it.
    pub earliest: Option<String>,
}

fn sources(answer: &Value) -> Vec<Value> {
    answer["hits"]["hits"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|hit| hit["_source"].clone())
        .collect()
}

impl Sink {
    /// Follows the credentials of event `event_id` back; `None` when no
    /// event has that ID.
    pub async fn trace(&self, pattern: &str, event_id: &str) -> Result<Option<Trace>, SinkError> {
        let Some(mut current) = sources(&self.search(pattern, &event_body(event_id)).await?)
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let mut hops = vec![Hop::of(&current)];
        let mut seen: HashSet<String> = HashSet::from([event_id.to_string()]);
        let mut store = identity_store(&current);
        let origin = loop {
            if hops.len() > MAX_HOPS {
                break Origin::TooLong;
            }
            let source_identity = hops.last().and_then(|h| h.source_identity.clone());
            match next_step(&current) {
                Step::End(origin) => break origin,
                Step::CallerCopy {
                    shared_event_id,
                    account,
                } => {
                    let copies = sources(&self.search(pattern, &shared_event_body(&shared_event_id)).await?);
                    let caller = pick(&copies, account.as_deref())
                        .filter(|copy| copy["userIdentity"]["type"] != "AWSAccount");
                    let Some(caller) = caller else {
                        break Origin::Unknown {
                            looked_for: format!(
                                "the caller's copy of call {shared_event_id} in account {}",
                                account.as_deref().unwrap_or("-")
                            ),
                            source_identity,
                        };
                    };
                    // Both copies are one call: the caller's replaces the owner's.
                    hops.pop();
                    hops.push(Hop::of(caller));
                    current = caller.clone();
                }
                Step::Issuing {
                    access_key,
                    session,
                    before,
                } => {
                    let mut found = None;
                    if let Some(key) = &access_key {
                        let issuers = sources(&self.search(pattern, &issued_key_body(key, &before)).await?);
                        found = pick(&issuers, None).cloned();
                    }
                    if let (None, Some((arn, created))) = (&found, &session) {
                        let issuers =
                            sources(&self.search(pattern, &issued_session_body(arn, created)).await?);
                        found = pick(&issuers, None).cloned();
                    }
                    let Some(issuer) = found else {
                        if let Some(origin) = session_origin(&current) {
                            break origin;
                        }
                        let key = access_key.as_deref().map(|k| format!("access key {k}"));
                        let session = session.as_ref().map(|(arn, _)| format!("session {arn}"));
                        let what: Vec<String> = key.into_iter().chain(session).collect();
                        break Origin::Unknown {
                            looked_for: format!("the call that issued {}", what.join(" or ")),
                            source_identity,
                        };
                    };
                    let id = issuer["eventID"].as_str().unwrap_or_default().to_string();
                    if !seen.insert(id.clone()) {
                        break Origin::Loop { event_id: id };
                    }
                    hops.push(Hop::of(&issuer));
                    store = store.or_else(|| identity_store(&issuer));
                    current = issuer;
                }
            }
        };
        // Identity Center's SAML sign-in names no identity store; its sessions do.
        let origin = match origin {
            Origin::IdentityCenterUser {
                user,
                identity_store: None,
            } => Origin::IdentityCenterUser {
                user,
                identity_store: store,
            },
            other => other,
        };
        let answer = self.search(pattern, &earliest_body()).await?;
        let earliest = answer["aggregations"]["earliest"]["value_as_string"]
            .as_str()
            .map(str::to_string);
        Ok(Some(Trace {
            hops,
            origin,
            searched: pattern.to_string(),
            earliest,
        }))
    }

    /// The access keys of every credential issued to `user` or, through
    /// role hops, to sessions of those credentials, whenever issued (a
    /// session issued before a search window can act within it).
    pub async fn session_keys(
        &self,
        pattern: &str,
        user: &str,
        page_size: usize,
    ) -> Result<Vec<String>, SinkError> {
        let mut keys: BTreeSet<String> = BTreeSet::new();
        for _ in 0..MAX_SESSION_ROUNDS {
            let query = SearchQuery {
                user: Some(user.to_string()),
                session_keys: keys.iter().cloned().collect(),
                issuing_only: true,
                limit: ISSUING_CALLS_PER_ROUND,
                ..SearchQuery::default()
            };
            let mut found = Vec::new();
            self.search_pages(pattern, &query, page_size, |source| {
                if let Some(key) = trailsearch_mapping::derive(source).issued_access_key {
                    found.push(key);
                }
            })
            .await?;
            let before = keys.len();
            keys.extend(found);
            if keys.len() == before {
                break;
            }
        }
        Ok(keys.into_iter().collect())
    }
}
