//! `den push NAME[:TAG]`: the image's kept blobs (see `kept`) to its registry, as docker pushes:
//! a blob the repository has is skipped ("Layer already exists"), one another repository of the
//! same registry has (an image den has under that name) is mounted from it, the others are
//! streamed from disk in chunks (never whole in memory), 3 at a time; then the manifest, byte for
//! byte as kept, so the registry gives it the digest it had.
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{self, TryStreamExt};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::RegistryOperation;

use super::error::ImageError;
use super::kept::{self, blob_dir, Desc};
use super::names::{self, Names};
use super::pull::registry;
use super::pull::remote::Remote;
use super::pull::to_oci;
use super::reference::Reference;
use super::ImageStore;
use crate::events;

/// Uploads at once.
const PARALLEL: usize = 3;
/// A blob is read from disk this much at a time (oci-client sends it in 4 MiB chunks).
const READ_SIZE: usize = 1 << 20;
/// How often upload progress is reported.
const TICK: Duration = Duration::from_millis(250);

/// docker's per-layer push states.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushStatus {
    Preparing,
    Pushing {
        done: u64,
        total: u64,
    },
    Pushed,
    LayerExists,
    /// Mounted from this repository of the same registry.
    Mounted {
        from: String,
    },
}

/// One blob's progress: its short id (12 hex) and state.
#[derive(Clone, Debug)]
pub struct PushEvent {
    pub id: String,
    pub status: PushStatus,
}

/// How a push ended: docker's last line is `TAG: digest: DIGEST size: SIZE`.
pub struct Pushed {
    pub tag: String,
    pub digest: String,
    pub size: usize,
}

impl ImageStore {
    /// Pushes the image recorded as `reference` to the registry its name points at.
    pub fn push(
        &self,
        reference: &str,
        progress: &dyn Fn(&PushEvent),
    ) -> Result<Pushed, ImageError> {
        let parsed = names::canonical_name(reference)?;
        let all = names::read(self.root())?;
        let Some((name, entry)) = names::lookup(&all, &parsed.to_string()) else {
            return Err(ImageError::NoSuchName {
                name: super::error::shorten(reference),
            });
        };
        let manifest = entry.manifest.as_ref().ok_or_else(|| ImageError::NoBlobs {
            name: name.to_string(),
        })?;
        let kept = kept::read(self.root(), manifest)?;
        let dir = blob_dir(self.root());
        for d in kept.layers.iter().chain([&kept.config]) {
            if !dir.join(d.hex()).is_file() {
                return Err(ImageError::NoBlobs {
                    name: name.to_string(),
                });
            }
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ImageError::io(self.root(), e))?;
        let job = Job {
            reference: &parsed,
            dir: &dir,
            images: self.root(),
            names: &all,
            progress,
        };
        let pushed = runtime.block_on(job.run(&kept))?;
        events::emit(
            events::root_of(self.root()),
            events::Event::pulled(&parsed, "push"),
        );
        Ok(pushed)
    }
}

struct Job<'a> {
    reference: &'a Reference,
    dir: &'a Path,
    images: &'a Path,
    names: &'a Names,
    progress: &'a dyn Fn(&PushEvent),
}

impl Job<'_> {
    async fn run(&self, kept: &kept::Kept) -> Result<Pushed, ImageError> {
        let client = registry::client(self.reference)?;
        let auth = registry::auth_for(self.reference.domain());
        let remote = to_oci(self.reference);
        client
            .auth(&remote, &auth, RegistryOperation::Push)
            .await
            .map_err(|e| self.failed(e))?;
        for d in &kept.layers {
            self.report(d, PushStatus::Preparing);
        }
        let blobs: Vec<&Desc> = kept.layers.iter().chain([&kept.config]).collect();
        stream::iter(blobs.into_iter().map(Ok::<_, ImageError>))
            .try_for_each_concurrent(PARALLEL, |d| self.blob(&client, &remote, d))
            .await?;
        let content_type = kept.media_type.parse().map_err(|_| ImageError::BadImage {
            image: self.dir.to_path_buf(),
            reason: format!("manifest media type {:?}", kept.media_type),
        })?;
        client
            .push_manifest_raw(&remote, Bytes::from(kept.bytes.clone()), content_type)
            .await
            .map_err(|e| self.failed(e))?;
        Ok(Pushed {
            tag: self.reference.tag().unwrap_or("latest").to_string(),
            digest: kept.digest.to_string(),
            size: kept.bytes.len(),
        })
    }

    fn report(&self, d: &Desc, status: PushStatus) {
        let id = d.hex().get(..12).unwrap_or(d.hex()).to_string();
        (self.progress)(&PushEvent { id, status });
    }

    /// One blob: skipped, mounted or uploaded.
    async fn blob(
        &self,
        client: &Remote,
        remote: &oci_client::Reference,
        d: &Desc,
    ) -> Result<(), ImageError> {
        let is_layer = d.media_type.contains("layer");
        let exists = client
            .blob_exists(remote, &d.digest)
            .await
            .map_err(|e| self.failed(e))?;
        if exists {
            if is_layer {
                self.report(d, PushStatus::LayerExists);
            }
            return Ok(());
        }
        for from in self.mount_sources(&d.digest) {
            let source = to_oci(&from);
            if client.mount_blob(remote, &source, &d.digest).await.is_ok() {
                let from = from.path().to_string();
                self.report(d, PushStatus::Mounted { from });
                return Ok(());
            }
        }
        let path = self.dir.join(d.hex());
        let file = File::open(&path).map_err(|e| ImageError::io(&path, e))?;
        let sent = Arc::new(AtomicU64::new(0));
        let upload = client.push_blob_stream(remote, chunks(file, sent.clone()), &d.digest);
        let ticker = async {
            loop {
                tokio::time::sleep(TICK).await;
                let done = sent.load(Ordering::Relaxed);
                if is_layer {
                    let total = d.size;
                    self.report(d, PushStatus::Pushing { done, total });
                }
            }
        };
        futures::pin_mut!(upload, ticker);
        let result = match futures::future::select(upload, ticker).await {
            futures::future::Either::Left((result, _)) => result,
            futures::future::Either::Right(((), _)) => unreachable!("the ticker never ends"),
        };
        result.map_err(|e| self.failed(e))?;
        if is_layer {
            self.report(d, PushStatus::Pushed);
        }
        Ok(())
    }

    /// Other repositories of the same registry that had this blob when den stored an image from
    /// them (the registry refuses a mount it cannot do; den then uploads).
    fn mount_sources(&self, digest: &str) -> Vec<Reference> {
        let mut out: Vec<Reference> = Vec::new();
        for (name, entry) in self.names {
            let Ok(r) = Reference::parse(name) else {
                continue;
            };
            if r.domain() != self.reference.domain()
                || r.path() == self.reference.path()
                || entry.digest.is_none()
                || out.iter().any(|o| o.path() == r.path())
            {
                continue;
            }
            let has = entry
                .manifest
                .as_ref()
                .and_then(|m| kept::read(self.images, m).ok())
                .is_some_and(|k| k.layers.iter().any(|l| l.digest == digest));
            if has {
                out.push(r);
            }
        }
        out
    }

    fn failed(&self, source: OciDistributionError) -> ImageError {
        ImageError::Registry {
            reference: self.reference.to_string(),
            message: describe(self.reference, &source),
            cause: Box::new(source),
        }
    }
}

/// The registry's answer in docker's words.
fn describe(reference: &Reference, e: &OciDistributionError) -> String {
    let denied = "denied: requested access to the resource is denied".to_string();
    match e {
        OciDistributionError::RegistryError { envelope, .. }
            if envelope
                .errors
                .iter()
                .any(|e| matches!(e.code, OciErrorCode::Unauthorized | OciErrorCode::Denied)) =>
        {
            denied
        }
        OciDistributionError::UnauthorizedError { .. }
        | OciDistributionError::AuthenticationFailure(_) => denied,
        // oci-client's HEAD of a blob turns a 401/403 into a bare HTTP error.
        OciDistributionError::RequestError(r)
            if r.status()
                .is_some_and(|s| s.as_u16() == 401 || s.as_u16() == 403) =>
        {
            denied
        }
        other => registry::describe(reference, other),
    }
}

/// The file as a stream of chunks, counting what has been read into `sent`.
fn chunks(
    file: File,
    sent: Arc<AtomicU64>,
) -> impl futures::Stream<Item = oci_client::errors::Result<bytes::Bytes>> + Send + 'static {
    stream::try_unfold(file, move |mut file| {
        let sent = sent.clone();
        async move {
            let mut buf = vec![0u8; READ_SIZE];
            let n = file
                .read(&mut buf)
                .map_err(|e| OciDistributionError::GenericError(Some(e.to_string())))?;
            if n == 0 {
                return Ok(None);
            }
            buf.truncate(n);
            sent.fetch_add(n as u64, Ordering::Relaxed);
            Ok(Some((bytes::Bytes::from(buf), file)))
        }
    })
}
