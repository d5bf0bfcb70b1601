//! `den push NAME[:TAG]`, printed as docker does: `The push refers to repository [...]`, a line
//! per layer state (live lines on a terminal), then `TAG: digest: DIGEST size: SIZE`.
use std::path::Path;

use anyhow::Result;
use den_runtime::image::{ImageStore, PushEvent, PushStatus, Reference};

use super::progress::Layers;

#[derive(clap::Args)]
pub struct Args {
    /// NAME[:TAG] of an image den has, e.g. localhost:5000/app:v1.
    reference: String,
}

pub fn main(root: &Path, a: Args) -> Result<i32> {
    let reference = Reference::parse(&a.reference)?;
    println!("The push refers to repository [{}]", reference.repository());
    let layers = Layers::new(false);
    let report = |e: &PushEvent| {
        let text = match &e.status {
            PushStatus::Preparing => "Preparing".to_string(),
            PushStatus::Pushing { done, total } => {
                return layers.bytes(&e.id, "Pushing", *done, *total);
            }
            PushStatus::Pushed => "Pushed".to_string(),
            PushStatus::LayerExists => "Layer already exists".to_string(),
            PushStatus::Mounted { from } => format!("Mounted from {from}"),
        };
        layers.state(&e.id, &text);
    };
    let pushed = ImageStore::new(root).push(&a.reference, &report);
    layers.finish();
    let pushed = pushed?;
    println!(
        "{}: digest: {} size: {}",
        pushed.tag, pushed.digest, pushed.size
    );
    Ok(0)
}
