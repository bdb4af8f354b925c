//! Progress on stderr: a progress bar when stderr is a terminal, plain lines otherwise; with
//! `-v`, one line per request the layer sends. Keeps the latest resume handle for interruptions.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use http::{Request, Response};
use indicatif::{ProgressBar, ProgressStyle};
use tower_lro::{OperationStatus, Progress, ResumeHandle};

use crate::redact;
use crate::term::{shown, shown_within, LINE_LIMIT};

enum Mode {
    Silent,
    Lines,
    Bar(ProgressBar),
}

/// Where progress goes, shared by the layer's hooks and the command.
pub struct Reporter {
    mode: Mode,
    verbose: bool,
    latest: Mutex<Option<ResumeHandle>>,
}

impl Reporter {
    pub fn new(silent: bool, verbose: bool) -> Self {
        let mode = if silent {
            Mode::Silent
        } else if std::io::stderr().is_terminal() && !verbose {
            Mode::Bar(spinner())
        } else {
            Mode::Lines
        };
        Self {
            mode,
            verbose,
            latest: Mutex::new(None),
        }
    }

    /// A line for stderr (above the bar, when there is one); nothing when silent. The URLs in
    /// it are masked as `-v` masks them. Each server string in it is escaped and bounded where
    /// the line is formatted (`term::shown`); the whole line is escaped and bounded again here,
    /// a backstop.
    pub fn note(&self, line: &str) {
        let line = redact::text(line);
        let line = shown_within(&line, LINE_LIMIT);
        match &self.mode {
            Mode::Silent => {}
            Mode::Lines => eprintln!("{line}"),
            Mode::Bar(bar) => bar.suspend(|| eprintln!("{line}")),
        }
    }

    /// A line with `-v` only.
    pub fn verbose(&self, line: &str) {
        if self.verbose {
            self.note(line);
        }
    }

    /// The `on_poll_request` hook: with `-v`, the request line, credentials masked.
    pub fn request(&self, req: &Request<()>) {
        if self.verbose {
            self.note(&format!(
                "> {} {}",
                req.method(),
                shown(&redact::url(&req.uri().to_string()))
            ));
        }
    }

    /// With `-v`, the head of every answer, as it arrives (`< HTTP/1.1 202 Accepted`, then
    /// `< name: value`): credentials masked, values escaped and bounded.
    pub fn response_head<B>(&self, resp: &Response<B>) {
        if !self.verbose {
            return;
        }
        self.note(&format!("< {:?} {}", resp.version(), resp.status()));
        for (name, value) in resp.headers() {
            // `note` masks absolute URLs in the line; a relative one (`/ops/1?sig=…`) here.
            let value = redact::header_value(name, value);
            let value = match value.contains("://") {
                true => std::borrow::Cow::Borrowed(value),
                false => tower_lro::credentials::mask_url(value),
            };
            self.note(&format!("< {name}: {}", shown(&value)));
        }
    }

    /// The `on_progress` hook.
    pub fn progress(&self, p: &Progress) {
        // The last handle stays once the operation ends (a terminal report carries none): a
        // deadline or signal while the final resource is fetched or streamed can still save
        // it, and resuming fetches the resource again.
        if let (Ok(mut latest), Some(handle)) = (self.latest.lock(), p.resume_handle()) {
            *latest = Some(handle.clone());
        }
        let mut pct = p
            .percent_complete()
            // Within its range, as the bar shows it: a server's `1e308` is not 309 digits.
            .map(|v| format!(" {:.0}%", v.clamp(0.0, 100.0)))
            .unwrap_or_default();
        // The service's own words for its progress (FHIR's `X-Progress`), escaped.
        if let Some(text) = p.progress_text() {
            pct.push_str(&format!(" \"{}\"", shown(text)));
        }
        let next = match (p.next_poll_in(), p.wait_reason()) {
            (Some(wait), Some(why)) => format!(", next poll in {} ({why})", secs(wait)),
            (Some(wait), None) => format!(", next poll in {}", secs(wait)),
            (None, _) => String::new(),
        };
        let polls = p.polls();
        let status = status_word(p.status());
        match &self.mode {
            Mode::Silent => {}
            Mode::Bar(bar) => {
                if let Some(v) = p.percent_complete() {
                    bar.set_position(v.clamp(0.0, 100.0) as u64);
                }
                bar.set_message(format!("{status}{pct} (poll {polls}){next}"));
            }
            Mode::Lines if polls == 0 => self.note(&format!(
                "lro: accepted, polling {}{next}",
                shown(&redact::url(p.operation_url()))
            )),
            Mode::Lines => self.note(&format!("lro: {status}{pct} (poll {polls}){next}")),
        }
    }

    /// The handle from the latest progress report that carried one.
    pub fn latest_handle(&self) -> Option<ResumeHandle> {
        self.latest.lock().ok().and_then(|h| h.clone())
    }

    /// Removes the bar before the final output.
    pub fn finish(&self) {
        if let Mode::Bar(bar) = &self.mode {
            bar.finish_and_clear();
        }
    }
}

fn spinner() -> ProgressBar {
    let bar = ProgressBar::new(100);
    let style = ProgressStyle::with_template("{spinner} {elapsed:>4} [{bar:20}] {wide_msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message("sending");
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// The status word as the server sent it (escaped and bounded); a word no vocabulary knows is
/// said to be one (the layer keeps polling it until the deadline); before any answer gave a
/// word (polls that failed transiently), "no status yet".
pub fn status_word(status: &OperationStatus) -> String {
    if status.is_assumed() {
        return "no status yet".to_owned();
    }
    let word = shown(status.as_str());
    if status.is_recognised() {
        word.into_owned()
    } else {
        format!("{word} (unrecognised word: still polling)")
    }
}

/// `1 poll`, `3 polls`.
pub fn polls(n: u32) -> String {
    match n {
        1 => "1 poll".to_owned(),
        n => format!("{n} polls"),
    }
}

/// `3 s`, `0.25 s`.
pub fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.2} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unrecognised_words_are_marked() {
        assert_eq!(status_word(&OperationStatus::parse("Running")), "Running");
        assert_eq!(
            status_word(&OperationStatus::parse("Frobnicating")),
            "Frobnicating (unrecognised word: still polling)"
        );
    }
}
