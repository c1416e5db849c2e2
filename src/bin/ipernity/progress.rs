//! What `ipernity upload` shows while it works: on a terminal, a bar per file being sent and one
//! for the whole run; otherwise plain lines (`uploading PATH`) that logs and scripts can read.
//! Result lines always go to standard output, one per file.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use ipernity::client::Progress;

/// The run's display: bars on a terminal, plain lines elsewhere.
pub(crate) struct Display {
    bars: Option<Bars>,
}

struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    file_style: ProgressStyle,
}

impl Display {
    /// Bars when standard error is a terminal (and `TERM` is not `dumb`); `bytes` and `files` are
    /// what the run has to send.
    pub(crate) fn new(bytes: u64, files: u64) -> Display {
        let terminal = std::io::stderr().is_terminal()
            && std::env::var_os("TERM").is_none_or(|term| term != "dumb");
        if !terminal || files == 0 {
            return Display { bars: None };
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10));
        let overall = multi.add(
            ProgressBar::new(bytes)
                .with_style(style(
                    "{prefix:>12} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta} {msg}",
                ))
                .with_prefix("all files")
                .with_message(format!("0/{files} sent")),
        );
        overall.enable_steady_tick(Duration::from_millis(250));
        Display {
            bars: Some(Bars {
                multi,
                overall,
                file_style: style("{prefix:>12} [{bar:30}] {bytes}/{total_bytes} {msg}"),
            }),
        }
    }

    /// A result line, on standard output.
    pub(crate) fn result(&self, line: &str) {
        match &self.bars {
            Some(bars) => bars.multi.suspend(|| println!("{line}")),
            None => println!("{line}"),
        }
    }

    /// A message, on standard error.
    pub(crate) fn message(&self, line: &str) {
        match &self.bars {
            Some(bars) => bars.multi.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    /// The progress of one file of `length` bytes about to be sent.
    pub(crate) fn file(&self, path: &Path, length: u64) -> FileProgress {
        let Some(bars) = &self.bars else {
            eprintln!("uploading {}", super::paths::shown(path));
            return FileProgress {
                bars: None,
                length,
                shown: Arc::default(),
            };
        };
        let name = path.file_name().map_or_else(
            || super::paths::shown(path),
            |n| super::paths::shown(Path::new(n)),
        );
        let bar = bars.multi.insert_before(
            &bars.overall,
            ProgressBar::new(length)
                .with_style(bars.file_style.clone())
                .with_prefix(shorten(&name, 12)),
        );
        FileProgress {
            bars: Some((bar, bars.overall.clone())),
            length,
            shown: Arc::default(),
        }
    }

    /// Counts one file as finished in the overall bar.
    pub(crate) fn file_finished(&self, finished: u64, files: u64) {
        if let Some(bars) = &self.bars {
            bars.overall.set_message(format!("{finished}/{files} sent"));
        }
    }

    /// Says what the run waits for now.
    pub(crate) fn waiting(&self, what: &str) {
        if let Some(bars) = &self.bars {
            bars.overall.set_message(what.to_owned());
        }
    }

    /// Removes the bars.
    pub(crate) fn finish(&self) {
        if let Some(bars) = &self.bars {
            bars.overall.finish_and_clear();
            bars.multi.clear().ok();
        }
    }
}

/// The bar of one file, fed by the upload's progress events.
#[derive(Clone)]
pub(crate) struct FileProgress {
    bars: Option<(ProgressBar, ProgressBar)>,
    /// The file's own length: the body carries more (the envelope, base64), so bytes sent are
    /// scaled to file bytes for the bars.
    length: u64,
    /// File bytes this upload has added to the overall bar so far.
    shown: Arc<AtomicU64>,
}

impl FileProgress {
    /// Moves the bars to `event`.
    pub(crate) fn update(&self, event: &Progress) {
        let Some((bar, overall)) = &self.bars else {
            return;
        };
        match event {
            Progress::Sent { bytes, total } => {
                let done = scale(*bytes, *total, self.length);
                bar.set_position(done);
                // A resent file starts again from zero: the overall bar goes back too.
                let before = self.shown.swap(done, Ordering::Relaxed);
                if done >= before {
                    overall.inc(done - before);
                } else {
                    overall.dec(before - done);
                }
            }
            Progress::Processing => bar.set_message("processing"),
            Progress::Done { .. } => bar.finish_and_clear(),
        }
    }

    /// Removes this file's bar, and its bytes from the overall bar when it was not uploaded.
    pub(crate) fn end(&self, uploaded: bool) {
        if let Some((bar, overall)) = &self.bars {
            bar.finish_and_clear();
            let shown = self.shown.swap(0, Ordering::Relaxed);
            if uploaded {
                overall.inc(self.length.saturating_sub(shown));
            } else {
                overall.dec(shown);
            }
        }
    }
}

/// `bytes` of `total` as a share of `length`, without overflow.
fn scale(bytes: u64, total: u64, length: u64) -> u64 {
    if total == 0 {
        return length;
    }
    let scaled = u128::from(bytes.min(total)) * u128::from(length) / u128::from(total);
    u64::try_from(scaled).unwrap_or(length)
}

/// At most `width` characters of `name`, its end kept (where names differ).
fn shorten(name: &str, width: usize) -> String {
    let count = name.chars().count();
    if count <= width {
        return name.to_owned();
    }
    let tail: String = name.chars().skip(count + 1 - width).collect();
    format!("…{tail}")
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_bytes_scale_to_file_bytes() {
        assert_eq!(scale(0, 400, 300), 0);
        assert_eq!(scale(200, 400, 300), 150);
        assert_eq!(scale(400, 400, 300), 300);
        assert_eq!(scale(500, 400, 300), 300);
        assert_eq!(scale(0, 0, 7), 7);
        assert_eq!(scale(u64::MAX, u64::MAX, u64::MAX), u64::MAX);
    }

    #[test]
    fn long_names_keep_their_end() {
        assert_eq!(shorten("a.jpg", 12), "a.jpg");
        assert_eq!(shorten("holiday-2026-001.jpg", 12), "…026-001.jpg");
        assert_eq!(shorten("holiday-2026-001.jpg", 12).chars().count(), 12);
    }
}
