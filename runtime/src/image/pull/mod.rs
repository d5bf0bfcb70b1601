//! `den pull`: an image from a registry (distribution API v2 / OCI distribution, via the
//! `oci-client` crate) into the store. The manifest (an index resolved to one platform), the
//! config and the layers are downloaded into `<images>/blobs/sha256/`, each verified by digest
//! while it streams to disk, 3 layers at a time; then they are read back through the same code as
//! an OCI layout on disk (verified again, unpacked by chain) and the name is recorded.
//!
//! The async runtime is the image module's own current-thread one, started and ended inside
//! `pull`: den pulls before it clones anything, and no thread outlives the call.
mod certs;
mod fetch;
mod login;
mod mtls;
mod overlap;
pub(crate) mod registry;
pub(crate) mod remote;

use std::fs;
use std::path::{Path, PathBuf};

use oci_client::manifest::OciDescriptor;
use oci_spec::image::{Descriptor, ImageIndex, ImageManifest, MediaType};

use super::digest::Sha256Digest;
use super::error::ImageError;
use super::kept::PullGuard;
use super::layers::{make_private_dirs, LayerStore};
use super::names::{self, NameEntry, StoreLock};
use super::oci::{self, Platform};
use super::reference::Reference;
use super::source::DirBlobs;
use super::store::chain_key;
use super::{Image, ImageStore};
use crate::events;

pub use fetch::{Event, Status};
pub use login::{login, logout};

/// Downloads at once, as docker's `max-concurrent-downloads`.
const PARALLEL: usize = 3;

const MANIFEST_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// What `den pull` was asked for.
pub struct PullOptions {
    pub platform: Option<Platform>,
}

/// How a pull ended.
pub struct Pulled {
    pub image: Image,
    /// The name recorded: `docker.io/library/alpine:latest`.
    pub name: String,
    /// The manifest digest the reference resolved to.
    pub digest: String,
    /// Whether anything new was stored (docker's "Downloaded newer image" vs "up to date").
    pub changed: bool,
}

impl ImageStore {
    /// Pulls `reference` into the store, reporting each layer's progress to `progress`.
    pub fn pull(
        &self,
        reference: &str,
        opts: &PullOptions,
        progress: &dyn Fn(&Event),
    ) -> Result<Pulled, ImageError> {
        let reference = Reference::parse(reference)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ImageError::io(self.root(), e))?;
        let pulled = runtime.block_on(self.pull_async(&reference, opts, progress))?;
        events::emit(
            events::root_of(self.root()),
            events::Event::pulled(&reference, "pull"),
        );
        Ok(pulled)
    }

    async fn pull_async(
        &self,
        reference: &Reference,
        opts: &PullOptions,
        progress: &dyn Fn(&Event),
    ) -> Result<Pulled, ImageError> {
        let images = self.root().to_path_buf();
        let blob_dir = images.join("blobs/sha256");
        make_private_dirs(&blob_dir)?;
        // Until the name is recorded, no sweep takes the blobs this pull brings.
        let _pulling = PullGuard::shared(&images)?;
        let client = registry::client(reference)?;
        let auth = registry::auth_for(reference.domain());
        let remote = to_oci(reference);
        let failed = |source| ImageError::Registry {
            reference: reference.to_string(),
            message: registry::describe(reference, &source),
            cause: Box::new(source),
        };
        let platform = opts.platform.clone().unwrap_or_else(Platform::host);
        // The registry's `/v2/` first, its failure reported as it is: oci-client would otherwise
        // swallow it and try again with the manifest (an unreachable registry: two timeouts).
        client
            .auth(&remote, &auth, oci_client::RegistryOperation::Pull)
            .await
            .map_err(failed)?;

        // The manifest: an index is resolved to one platform's manifest, by digest.
        let (bytes, _) = client
            .pull_manifest_raw(&remote, &auth, MANIFEST_TYPES)
            .await
            .map_err(failed)?;
        let top = fetch::store_small(&blob_dir, &bytes, reference.digest())?;
        let top_desc = descriptor_of(&bytes, &top, reference)?;
        let mut manifest_desc = top_desc.clone();
        while is_index(&manifest_desc) {
            let index: ImageIndex = json(&blob_dir, &manifest_desc, reference)?;
            let chosen = platform.pick(Path::new(&reference.to_string()), index.manifests())?;
            let child = remote.clone_with_digest(chosen.digest().to_string());
            let (bytes, _) = client
                .pull_manifest_raw(&child, &auth, MANIFEST_TYPES)
                .await
                .map_err(failed)?;
            let expected = chosen.digest().to_string();
            let digest = fetch::store_small(&blob_dir, &bytes, Some(&expected))?;
            manifest_desc = descriptor_of(&bytes, &digest, reference)?;
        }
        let manifest: ImageManifest = json(&blob_dir, &manifest_desc, reference)?;

        // The config, then the layers the store does not already have (by chain), 3 at a time.
        let config = manifest.config();
        fetch::blob(&client, &remote, &oci_desc(config), &blob_dir, &|_| {}).await?;
        if let Some(wanted) = &opts.platform {
            check_platform(&blob_dir, config, wanted, reference)?;
        }
        // The layers the store does not already have (by chain) are downloaded, 3 at a time, each
        // unpacked as soon as it is in while the next ones download.
        let blobs = DirBlobs::downloaded(&images);
        let parsed = oci::parse_manifest(&blobs, manifest_desc.clone(), &platform)?;
        let store = LayerStore::new(&images);
        let mut below: Option<Sha256Digest> = None;
        let mut downloads = Vec::new();
        for desc in manifest.layers() {
            let digest = Sha256Digest::from_oci(desc.digest(), &images)?;
            let key = chain_key(below.as_ref(), &digest);
            // The blob is kept too (push, save): an image stored before that gets it now.
            if store.lower(&key)?.is_some() && blob_dir.join(digest.hex()).is_file() {
                progress(&Event::new(&digest, Status::AlreadyExists));
                downloads.push(None);
            } else {
                progress(&Event::new(&digest, Status::Waiting));
                downloads.push(Some(oci_desc(desc)));
            }
            below = Some(key);
        }
        // docker's `Waiting`: the layers behind the first 3 downloads.
        let queued = manifest.layers().iter().zip(&downloads);
        for (desc, _) in queued.filter(|(_, d)| d.is_some()).skip(PARALLEL) {
            let digest = Sha256Digest::from_oci(desc.digest(), &images)?;
            progress(&Event::new(&digest, Status::Queued));
        }
        let changed = downloads.iter().any(Option::is_some);
        let plan = overlap::Plan {
            client: &client,
            remote: &remote,
            images: &images,
            parsed,
            downloads,
        };
        let resolved = plan.run(progress).await?;

        // The name, under the store lock (layers an rmi or prune would take are safe from them
        // while this pull holds its guard).
        let lock = StoreLock::acquire(&images)?;
        let name = reference.to_string();
        let entry = NameEntry {
            id: resolved.id.clone(),
            layers: resolved.layer_keys.clone(),
            config: resolved.config.clone(),
            created: resolved.created.clone(),
            digest: Some(top.to_string()),
            manifest: Some(manifest_desc.digest().to_string()),
        };
        let mut all = names::read(&images)?;
        let changed = changed || all.get(&name).is_none_or(|old| old.id != entry.id);
        all.insert(name.clone(), entry);
        names::write(&images, &all, &lock)?;
        Ok(Pulled {
            image: resolved.into_image(&name),
            name,
            digest: top.to_string(),
            changed,
        })
    }
}

/// A single-platform image must be the platform asked for (docker refuses it too).
fn check_platform(
    blob_dir: &Path,
    config: &Descriptor,
    wanted: &Platform,
    reference: &Reference,
) -> Result<(), ImageError> {
    let v: serde_json::Value = json(blob_dir, config, reference)?;
    let field = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    let actual = Platform {
        os: field("os"),
        arch: field("architecture"),
        variant: v
            .get("variant")
            .and_then(|x| x.as_str())
            .map(str::to_string),
    };
    let same = actual.os == wanted.os
        && actual.arch == wanted.arch
        && (wanted.variant.is_none() || actual.variant == wanted.variant);
    if same {
        return Ok(());
    }
    Err(ImageError::NoPlatform {
        image: PathBuf::from(reference.to_string()),
        wanted: wanted.to_string(),
        available: vec![actual.to_string()],
    })
}

/// The reference as oci-client takes it.
pub(crate) fn to_oci(r: &Reference) -> oci_client::Reference {
    match (r.digest(), r.tag()) {
        (Some(d), _) => oci_client::Reference::with_digest(
            r.domain().to_string(),
            r.path().to_string(),
            d.to_string(),
        ),
        (None, tag) => oci_client::Reference::with_tag(
            r.domain().to_string(),
            r.path().to_string(),
            tag.unwrap_or("latest").to_string(),
        ),
    }
}

fn oci_desc(d: &Descriptor) -> OciDescriptor {
    OciDescriptor {
        media_type: d.media_type().to_string(),
        digest: d.digest().to_string(),
        size: i64::try_from(d.size()).unwrap_or(i64::MAX),
        urls: None,
        annotations: None,
        artifact_type: None,
    }
}

fn is_index(d: &Descriptor) -> bool {
    matches!(d.media_type(), MediaType::ImageIndex)
        || matches!(d.media_type(), MediaType::Other(m)
            if m == "application/vnd.docker.distribution.manifest.list.v2+json")
}

/// A descriptor for manifest `bytes` (stored as `digest`), its media type read from them.
fn descriptor_of(
    bytes: &[u8],
    digest: &Sha256Digest,
    reference: &Reference,
) -> Result<Descriptor, ImageError> {
    #[derive(serde::Deserialize)]
    struct Head {
        #[serde(default, rename = "mediaType")]
        media_type: Option<String>,
        #[serde(default)]
        manifests: Option<serde_json::Value>,
    }
    let head: Head = serde_json::from_slice(bytes).map_err(|source| ImageError::Json {
        image: PathBuf::from(reference.to_string()),
        what: "manifest".to_string(),
        source,
    })?;
    let media = match (head.media_type, head.manifests) {
        (Some(m), _) => MediaType::from(m.as_str()),
        (None, Some(_)) => MediaType::ImageIndex,
        (None, None) => MediaType::ImageManifest,
    };
    let oci_digest =
        oci_spec::image::Digest::try_from(digest.to_string().as_str()).map_err(|e| {
            ImageError::BadDigest {
                image: PathBuf::from(reference.to_string()),
                blob: digest.to_string(),
                reason: e.to_string(),
            }
        })?;
    Ok(Descriptor::new(media, bytes.len() as u64, oci_digest))
}

fn json<T: serde::de::DeserializeOwned>(
    blob_dir: &Path,
    desc: &Descriptor,
    reference: &Reference,
) -> Result<T, ImageError> {
    let hex = desc.digest().digest();
    let path = blob_dir.join(hex);
    let bytes = fs::read(&path).map_err(|e| ImageError::io(&path, e))?;
    serde_json::from_slice(&bytes).map_err(|source| ImageError::Json {
        image: PathBuf::from(reference.to_string()),
        what: format!("manifest {}", desc.digest()),
        source,
    })
}
