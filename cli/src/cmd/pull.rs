//! `den pull [--platform OS/ARCH[/VARIANT]] [-q] NAME[:TAG|@DIGEST]`, printed as docker does:
//! a line per layer state (live lines on a terminal), then `Digest:` and `Status:`.
use std::path::Path;

use anyhow::Result;
use den_runtime::image::{Event, ImageStore, Platform, PullOptions, Reference, Status};

use super::progress::{size, Layers};

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
    if !a.quiet {
        let what = reference.tag().map_or_else(
            || reference.digest().unwrap_or_default().to_string(),
            str::to_string,
        );
        println!("{what}: Pulling from {}", reference.path());
    }
    let layers = Layers::new(false);
    let report = |e: &Event| {
        if !a.quiet {
            show(&layers, e);
        }
    };
    let pulled = ImageStore::new(root).pull(&a.reference, &PullOptions { platform }, &report)?;
    layers.finish();
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
    let layers = Layers::new(true);
    let pulled = store.pull(image, &PullOptions { platform: None }, &|e| {
        show(&layers, e)
    })?;
    layers.finish();
    eprintln!("Digest: {}", pulled.digest);
    eprintln!("Status: Downloaded newer image for {}", pulled.name);
    Ok(())
}

/// docker's words for a layer's state.
fn show(layers: &Layers, e: &Event) {
    let text = match e.status {
        Status::AlreadyExists => "Already exists".to_string(),
        Status::Waiting => "Pulling fs layer".to_string(),
        Status::Queued => "Waiting".to_string(),
        Status::Resuming { at } => format!("Resuming download at {}", size(at)),
        Status::Downloading { done, total } => {
            return layers.bytes(&e.id, "Downloading", done, total);
        }
        Status::Verifying => "Verifying Checksum".to_string(),
        Status::DownloadComplete => "Download complete".to_string(),
        Status::Extracting => "Extracting".to_string(),
        Status::PullComplete => "Pull complete".to_string(),
    };
    layers.state(&e.id, &text);
}
