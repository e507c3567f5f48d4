//! Progress: a bar on a terminal, one line per object otherwise.

use std::sync::Mutex;
use std::time::Instant;

use crate::display::escape_controls;
use indicatif::{ProgressBar, ProgressStyle};
use trailsearch_ingest::{Progress, ProgressEvent, Report};

pub struct ConsoleProgress {
    bar: Option<ProgressBar>,
    started: Instant,
    totals: Mutex<Report>,
}

impl ConsoleProgress {
    pub fn new(terminal: bool) -> Self {
        let bar = terminal.then(|| {
            let bar = ProgressBar::new(0);
            let style = ProgressStyle::with_template(
                "{spinner} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}{msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
        ConsoleProgress {
            bar,
            started: Instant::now(),
            totals: Mutex::new(Report::default()),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Progress for ConsoleProgress {
    fn on_event(&self, event: &ProgressEvent) {
        match event {
            ProgressEvent::Planned { objects, bytes } => {
                if let Some(bar) = &self.bar {
                    bar.set_length(*bytes);
                } else {
                    eprintln!("ingest: {objects} objects, {:.1} MB", *bytes as f64 / 1e6);
                }
            }
            ProgressEvent::ObjectDone {
                object,
                bytes,
                report,
                error,
                ..
            } => {
                let mut totals = self.totals.lock().unwrap_or_else(|p| p.into_inner());
                totals.add(report);
                if let Some(error) = error {
                    let line = format!("error: {}", escape_controls(&error.to_string()));
                    match &self.bar {
                        Some(bar) => bar.println(line),
                        None => eprintln!("{line}"),
                    }
                }
                match &self.bar {
                    Some(bar) => {
                        bar.inc(*bytes);
                        bar.set_message(format!(" objects {} events {}", totals.objects, totals.events));
                    }
                    None => {
                        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
                        eprintln!(
                            "ingest: {}: events={} indexed={} duplicates={} degraded={} dead_lettered={} \
                             failed_events={} ({:.0} events/s overall)",
                            escape_controls(&object.to_string()),
                            report.events,
                            report.indexed,
                            report.duplicates,
                            report.degraded,
                            report.dead_lettered,
                            report.failed_events,
                            totals.events as f64 / secs
                        );
                    }
                }
            }
            _ => {}
        }
    }
}
