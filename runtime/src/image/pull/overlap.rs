//! The layers of a pull: downloaded 3 at a time, each unpacked as soon as it and the layers below
//! it are in, while the next ones download (docker's pull does the same). Unpacking is blocking
//! work, so it runs on the runtime's blocking pool; the runtime, and with it that pool, ends with
//! the pull.
use std::io;
use std::path::{Path, PathBuf};

use super::remote::Remote;
use futures::channel::mpsc;
use futures::stream::{self, StreamExt};
use oci_client::manifest::OciDescriptor;
use oci_client::Reference as OciRef;

use super::{fetch, Event, Status, PARALLEL};
use crate::image::digest::Sha256Digest;
use crate::image::error::ImageError;
use crate::image::layers::LayerStore;
use crate::image::parsed::Parsed;
use crate::image::source::DirBlobs;
use crate::image::store::{chain_key, Resolved};

/// What to do with each layer of `parsed`, in order: `Some(desc)` to download it first.
pub(super) struct Plan<'a> {
    pub client: &'a Remote,
    pub remote: &'a OciRef,
    pub images: &'a Path,
    pub parsed: Parsed,
    pub downloads: Vec<Option<OciDescriptor>>,
}

impl Plan<'_> {
    /// Downloads and unpacks; the layers end up in the store (bottom first, by chain).
    pub(super) async fn run(self, progress: &dyn Fn(&Event)) -> Result<Resolved, ImageError> {
        let blob_dir = self.images.join("blobs/sha256");
        let wanted: Vec<&OciDescriptor> = self.downloads.iter().flatten().collect();
        let (done, mut arrived) = mpsc::unbounded::<()>();
        // In manifest order: `buffered` runs 3 at once and yields them in the order asked for.
        let downloads = async {
            let mut fetched = stream::iter(wanted)
                .map(|desc| fetch::blob(self.client, self.remote, desc, &blob_dir, progress))
                .buffered(PARALLEL);
            while let Some(result) = fetched.next().await {
                result?;
                // The receiver only goes away when unpacking failed, which is reported instead.
                let _ = done.unbounded_send(());
            }
            Ok::<_, ImageError>(())
        };
        let unpacks = async {
            let mut keys: Vec<Sha256Digest> = Vec::new();
            let mut layers: Vec<PathBuf> = Vec::new();
            for (layer, download) in self.parsed.layers.iter().zip(&self.downloads) {
                if download.is_some() {
                    arrived.next().await.ok_or_else(|| {
                        ImageError::io(&blob_dir, io::Error::other("a download did not finish"))
                    })?;
                    progress(&Event::new(&layer.digest, Status::Extracting));
                }
                let key = chain_key(keys.last(), &layer.digest);
                let lowers: Vec<PathBuf> = layers.iter().rev().cloned().collect();
                let (images, layer_blob, k) =
                    (self.images.to_path_buf(), layer.clone(), key.clone());
                let unpacked = tokio::task::spawn_blocking(move || {
                    let blobs = DirBlobs::downloaded(&images);
                    LayerStore::new(&images).ensure(&blobs, &layer_blob, &k, &lowers)
                })
                .await
                .map_err(|e| ImageError::io(self.images, io::Error::other(e)))??;
                if download.is_some() {
                    progress(&Event::new(&layer.digest, Status::PullComplete));
                }
                layers.push(unpacked);
                keys.push(key);
            }
            Ok::<_, ImageError>((keys, layers))
        };
        let ((), (keys, layers)) = futures::try_join!(downloads, unpacks)?;
        let parsed = self.parsed;
        Ok(Resolved {
            id: parsed.id.to_string(),
            layer_keys: keys.iter().map(ToString::to_string).collect(),
            layers,
            config: parsed.config,
            created: parsed.created,
            names: Vec::new(),
            manifest: None,
        })
    }
}
