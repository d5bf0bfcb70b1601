//! `den pull [--platform OS/ARCH[/VARIANT]] [-q] NAME[:TAG|@DIGEST]`, printed as docker does:
//! a line per layer state (live lines on a terminal), then `Digest:` and `Status:`.
use std::cell::RefCell;
use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::Result;
use den_runtime::image::{Event, ImageStore, Platform, PullOptions, Reference, Status};

#[derive(clap::Args)]
pub struct Args {
    /// Pull the image for this platform of a multi-platform image (default: this machine's).
    #[arg(long)]
    platform: Option<String>,
    /// Print only the image's full name.
    #[arg(short, long)]
    quiet: bool,
    /// NAME[:TAG|@DIGEST], e.g. alpine, localhost:5000/app:v1.
    reference: String,
}

pub fn main(root: &Path, a: Args) -> Result<i32> {
    let reference = Reference::parse(&a.reference)?;
    let platform = a.platform.as_deref().map(Platform::parse).transpose()?;
    let tty = std::io::stdout().is_terminal();
    if !a.quiet {
        let what = reference.tag().map_or_else(
            || reference.digest().unwrap_or_default().to_string(),
            str::to_string,
        );
        println!("{what}: Pulling from {}", reference.path());
    }
    let lines = Lines::new(tty, false);
    let report = |e: &Event| {
        if !a.quiet {
            lines.show(e);
        }
    };
    let pulled = ImageStore::new(root).pull(&a.reference, &PullOptions { platform }, &report)?;
    if a.quiet {
        println!("{}", pulled.name);
        return Ok(0);
    }
    let short = Reference::parse(&pulled.name)
        .map(|r| match r.tag() {
            Some(tag) => format!("{}:{tag}", r.familiar_repository()),
            None => r.familiar_repository(),
        })
        .unwrap_or_else(|_| pulled.name.clone());
    println!("Digest: {}", pulled.digest);
    if pulled.changed {
        println!("Status: Downloaded newer image for {short}");
    } else {
        println!("Status: Image is up to date for {short}");
    }
    println!("{}", pulled.name);
    Ok(0)
}

/// `den run --pull POLICY IMAGE`: pulls IMAGE if the policy asks for it, printing docker's lines
/// to stderr ("Unable to find image ... locally", then the pull's).
/// `quiet` (`den run -q`): the pull prints nothing.
pub fn before_run(root: &Path, image: &str, policy: &str, quiet: bool) -> Result<()> {
    let store = ImageStore::new(root);
    let wanted = match policy {
        "never" => false,
        "always" => !store.is_path(image)?,
        _ => !store.is_local(image)?,
    };
    if !wanted {
        return Ok(());
    }
    let reference = Reference::parse(image)?;
    if quiet {
        store.pull(image, &PullOptions { platform: None }, &|_| {})?;
        return Ok(());
    }
    if policy != "always" {
        let shown = match reference.tag() {
            Some(tag) => format!("{}:{tag}", reference.familiar_repository()),
            None => reference.to_string(),
        };
        eprintln!("Unable to find image '{shown}' locally");
    }
    let lines = Lines::new(std::io::stderr().is_terminal(), true);
    let pulled = store.pull(image, &PullOptions { platform: None }, &|e| lines.show(e))?;
    eprintln!("Digest: {}", pulled.digest);
    eprintln!("Status: Downloaded newer image for {}", pulled.name);
    Ok(())
}

/// One line per layer. On a terminal each layer keeps its line, rewritten in place; otherwise
/// each state change is a line of its own, and byte counts are left out (as docker does).
pub(crate) struct Lines {
    pub(crate) tty: bool,
    stderr: bool,
    ids: RefCell<Vec<String>>,
}

impl Lines {
    pub(crate) fn new(tty: bool, stderr: bool) -> Self {
        Self {
            tty,
            stderr,
            ids: RefCell::new(Vec::new()),
        }
    }

    fn show(&self, e: &Event) {
        let text = match e.status {
            Status::AlreadyExists => "Already exists".to_string(),
            Status::Waiting => "Pulling fs layer".to_string(),
            Status::Resuming { at } => format!("Resuming download at {}", size(at)),
            Status::Downloading { done, total } => {
                if !self.tty {
                    return;
                }
                format!("Downloading {}/{}", size(done), size(total))
            }
            Status::Verifying => "Verifying Checksum".to_string(),
            Status::DownloadComplete => "Download complete".to_string(),
            Status::Extracting => "Extracting".to_string(),
            Status::PullComplete => "Pull complete".to_string(),
        };
        self.line(&e.id, &text);
    }

    /// Shows `id: text`: on a terminal in place of `id`'s earlier line.
    pub(crate) fn line(&self, id: &str, text: &str) {
        let mut out: Box<dyn Write> = if self.stderr {
            Box::new(std::io::stderr().lock())
        } else {
            Box::new(std::io::stdout().lock())
        };
        let mut ids = self.ids.borrow_mut();
        match ids.iter().position(|known| known == id) {
            Some(i) if self.tty => {
                let up = ids.len() - i;
                let _ = write!(out, "\x1b[{up}A\r\x1b[2K{id}: {text}\x1b[{up}B\r");
            }
            _ => {
                if !ids.iter().any(|known| known == id) {
                    ids.push(id.to_string());
                }
                let _ = writeln!(out, "{id}: {text}");
            }
        }
        let _ = out.flush();
    }
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
