//! A pull's or push's progress as docker prints it: a line per layer, `ID: STATE`. On a terminal
//! each layer's line is an indicatif bar that changes in place (with docker's byte bar,
//! `Downloading [==>   ]  1.2MB/3.4MB`, while bytes move); otherwise every change of state is a
//! line of its own and byte counts are left out, as docker does.
use std::cell::RefCell;
use std::io::{IsTerminal, Write};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

pub(crate) enum Layers {
    Plain {
        stderr: bool,
    },
    Bars {
        multi: MultiProgress,
        bars: RefCell<Vec<(String, ProgressBar)>>,
    },
}

impl Layers {
    /// Progress on stdout (`stderr`: on stderr, as `den run` shows its pull), live bars if that
    /// is a terminal.
    pub(crate) fn new(stderr: bool) -> Layers {
        let tty = if stderr {
            std::io::stderr().is_terminal()
        } else {
            std::io::stdout().is_terminal()
        };
        if !tty {
            return Layers::Plain { stderr };
        }
        let target = if stderr {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::stdout()
        };
        Layers::Bars {
            multi: MultiProgress::with_draw_target(target),
            bars: RefCell::new(Vec::new()),
        }
    }

    /// `id`'s state is now `text`.
    pub(crate) fn state(&self, id: &str, text: &str) {
        match self {
            Layers::Plain { stderr } => {
                let line = format!("{id}: {text}\n");
                let _ = if *stderr {
                    std::io::stderr().lock().write_all(line.as_bytes())
                } else {
                    let mut out = std::io::stdout().lock();
                    out.write_all(line.as_bytes()).and_then(|()| out.flush())
                };
            }
            Layers::Bars { .. } => {
                let bar = self.bar(id, text);
                bar.set_style(plain());
                bar.set_message(text.to_string());
            }
        }
    }

    /// `id` has moved `done` of `total` bytes (`what`: Downloading, Pushing): a bar on a
    /// terminal, nothing otherwise.
    pub(crate) fn bytes(&self, id: &str, what: &'static str, done: u64, total: u64) {
        if let Layers::Bars { .. } = self {
            let bar = self.bar(id, what);
            bar.set_style(bytes());
            bar.set_length(total);
            bar.set_position(done);
            bar.set_message(what);
        }
    }

    /// The last state of every layer drawn, before the lines that follow (`Digest:`, ...).
    pub(crate) fn finish(&self) {
        if let Layers::Bars { bars, .. } = self {
            for (_, bar) in bars.borrow().iter() {
                bar.finish();
            }
        }
    }

    /// `id`'s bar; a new one (at the bottom) shows `text` from its first draw on.
    fn bar(&self, id: &str, text: &str) -> ProgressBar {
        let Layers::Bars { multi, bars } = self else {
            unreachable!("only bars have bars");
        };
        let mut bars = bars.borrow_mut();
        if let Some((_, bar)) = bars.iter().find(|(known, _)| known == id) {
            return bar.clone();
        }
        let bar = ProgressBar::new(0)
            .with_style(plain())
            .with_prefix(id.to_string())
            .with_message(text.to_string());
        let bar = multi.add(bar);
        bars.push((id.to_string(), bar.clone()));
        bar
    }
}

fn plain() -> ProgressStyle {
    ProgressStyle::with_template("{prefix}: {msg}").unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// docker's bar: 50 columns of `=` ending in `>`, then `DONE/TOTAL` in its units.
fn bytes() -> ProgressStyle {
    ProgressStyle::with_template("{prefix}: {msg} [{bar:50}]  {sizes}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
        .with_key("sizes", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{}/{}", size(s.pos()), size(s.len().unwrap_or(0)));
        })
}

/// docker's units: 1.2MB, 345kB, 12B.
pub(crate) fn size(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.2}GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1}MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.1}kB", b / 1e3)
    } else {
        format!("{bytes}B")
    }
}
