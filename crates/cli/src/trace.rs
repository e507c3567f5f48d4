//! `trailsearch trace EVENT_ID`: the chain of calls behind an event's
//! credentials, newest first, and who is behind them.

use std::fmt::Write as _;

use anyhow::Context;
use trailsearch_mapping::trace::{Hop, Origin};
use trailsearch_sink::Trace;

use crate::args::{ClusterArgs, OutputFormat, TraceArgs};
use crate::cluster::{connect, settings};
use crate::display::escape_controls;
use crate::UsageError;

pub async fn run(args: &ClusterArgs, trace: &TraceArgs) -> anyhow::Result<bool> {
    let settings = settings(args)?;
    let naming = settings.naming()?;
    let event_id = trace.event_id.trim();
    if event_id.is_empty() {
        return Err(UsageError("EVENT_ID is empty: give the eventID of the call to trace".into()).into());
    }
    let cluster = connect(&settings).await?;
    let sink = cluster.sink(&settings, naming.clone());
    let pattern = naming.pattern();
    let followed = sink
        .trace(&pattern, event_id)
        .await
        .with_context(|| format!("tracing {event_id} over {pattern} failed"))?
        .with_context(|| {
            format!("no event with eventID {event_id} in {pattern}: check the ID, or ingest the logs that hold it")
        })?;
    match trace.format {
        OutputFormat::Json => println!("{}", serde_json::to_string(&followed)?),
        OutputFormat::Table => print!("{}", render(&followed)),
    }
    Ok(followed.origin.is_known())
}

fn hop_block(out: &mut String, n: usize, hop: &Hop) {
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let heading = format!(
        "{n}. {}  {}  account {}",
        dash(&hop.time),
        dash(&hop.event_name),
        dash(&hop.account)
    );
    let _ = writeln!(out, "{}", escape_controls(&heading));
    let mut line = |label: &str, value: String| {
        let _ = writeln!(out, "     {label:<11} {}", escape_controls(&value));
    };
    line(
        "identity",
        match (&hop.identity_type, &hop.identity) {
            (Some(kind), Some(who)) => format!("{kind} {who}"),
            (kind, who) => dash(&kind.clone().or(who.clone())),
        },
    );
    if let Some(key) = &hop.access_key {
        line("access key", key.clone());
    }
    if let Some(key) = &hop.issued_access_key {
        line(
            "issued",
            match &hop.issued_session {
                Some(session) => format!("{key} ({session})"),
                None => key.clone(),
            },
        );
    }
    if let Some(source) = &hop.source_identity {
        line("source id", source.clone());
    }
    line("source ip", dash(&hop.source_ip));
    line("user agent", dash(&hop.user_agent));
    line("event id", dash(&hop.event_id));
}

/// What the chain ends on, in words.
fn who(trace: &Trace) -> String {
    match &trace.origin {
        Origin::IamUser { name, arn } => match arn {
            Some(arn) => format!("{name}, IAM user {arn}"),
            None => format!("{name}, IAM user"),
        },
        Origin::Root { account } => format!("the root user of account {}", account.as_deref().unwrap_or("-")),
        Origin::SamlUser { subject, provider } => match provider {
            Some(provider) => format!("{subject}, signed in through SAML provider {provider}"),
            None => format!("{subject}, signed in through SAML"),
        },
        Origin::WebIdentityUser { subject, provider } => match provider {
            Some(provider) => format!("{subject}, signed in with a web identity token from {provider}"),
            None => format!("{subject}, signed in with a web identity token"),
        },
        Origin::IdentityCenterUser { user, identity_store } => match identity_store {
            Some(store) => format!("{user}, IAM Identity Center user of {store}"),
            None => format!("{user}, IAM Identity Center user"),
        },
        Origin::AwsService { service } => format!("the AWS service {service}, acting on its own"),
        Origin::Unknown {
            looked_for,
            source_identity,
        } => {
            let searched = match &trace.earliest {
                Some(earliest) => format!("{} (events from {earliest} on)", trace.searched),
                None => trace.searched.clone(),
            };
            let mut text = format!(
                "unknown: {looked_for} is not in {searched}; ingest the older logs of that account \
                 and trace again"
            );
            if let Some(source) = source_identity {
                text.push_str(&format!(
                    ". The sessions carry the source identity {source}, which whoever assumed the \
                     first role of the chain set"
                ));
            }
            text
        }
        Origin::Loop { event_id } => format!(
            "unknown: the chain leads back to event {event_id}, already on it; the records contradict \
             each other (credentials cannot issue themselves)"
        ),
        Origin::TooLong => format!(
            "unknown: the chain is longer than {} hops; follow it on from the last one",
            trailsearch_mapping::trace::MAX_HOPS
        ),
    }
}

/// The chain, newest first, then who is behind it.
pub fn render(trace: &Trace) -> String {
    let mut out = String::new();
    for (i, hop) in trace.hops.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        hop_block(&mut out, i + 1, hop);
    }
    let _ = writeln!(out, "\nwho: {}", escape_controls(&who(trace)));
    out
}
