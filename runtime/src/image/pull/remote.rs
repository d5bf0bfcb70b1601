//! The registry client of one pull or push: oci-client's, or den's own (`mtls`) for a registry
//! whose certs.d dir holds a client identity, which oci-client cannot offer. Both answer the
//! same calls with oci-client's types, so pull and push do not know which one they talk to.
use bytes::Bytes;
use futures::Stream;
use oci_client::client::BlobResponse;
use oci_client::errors::Result;
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};
use reqwest::header::HeaderValue;

use super::mtls::MtlsClient;

pub(crate) enum Remote {
    Oci(Client),
    Mtls(MtlsClient),
}

impl Remote {
    pub(crate) async fn auth(
        &self,
        image: &Reference,
        auth: &RegistryAuth,
        operation: RegistryOperation,
    ) -> Result<()> {
        match self {
            Remote::Oci(c) => c.auth(image, auth, operation).await.map(drop),
            Remote::Mtls(c) => c.auth(image, auth, operation).await,
        }
    }

    pub(crate) async fn pull_manifest_raw(
        &self,
        image: &Reference,
        auth: &RegistryAuth,
        accepted: &[&str],
    ) -> Result<(Bytes, String)> {
        match self {
            Remote::Oci(c) => c.pull_manifest_raw(image, auth, accepted).await,
            Remote::Mtls(c) => c.pull_manifest_raw(image, auth, accepted).await,
        }
    }

    pub(crate) async fn pull_blob_stream_partial(
        &self,
        image: &Reference,
        layer: &OciDescriptor,
        offset: u64,
        length: Option<u64>,
    ) -> Result<BlobResponse> {
        match self {
            Remote::Oci(c) => {
                c.pull_blob_stream_partial(image, layer, offset, length)
                    .await
            }
            Remote::Mtls(c) => {
                c.pull_blob_stream_partial(image, layer, offset, length)
                    .await
            }
        }
    }

    pub(crate) async fn blob_exists(&self, image: &Reference, digest: &str) -> Result<bool> {
        match self {
            Remote::Oci(c) => c.blob_exists(image, digest).await,
            Remote::Mtls(c) => c.blob_exists(image, digest).await,
        }
    }

    pub(crate) async fn mount_blob(
        &self,
        image: &Reference,
        source: &Reference,
        digest: &str,
    ) -> Result<()> {
        match self {
            Remote::Oci(c) => c.mount_blob(image, source, digest).await,
            Remote::Mtls(c) => c.mount_blob(image, source, digest).await,
        }
    }

    pub(crate) async fn push_blob_stream<T>(
        &self,
        image: &Reference,
        data: T,
        digest: &str,
    ) -> Result<String>
    where
        T: Stream<Item = Result<Bytes>> + Send + 'static,
    {
        match self {
            Remote::Oci(c) => c.push_blob_stream(image, data, digest, None).await,
            Remote::Mtls(c) => c.push_blob_stream(image, data, digest).await,
        }
    }

    pub(crate) async fn push_manifest_raw(
        &self,
        image: &Reference,
        body: Bytes,
        content_type: HeaderValue,
    ) -> Result<String> {
        match self {
            Remote::Oci(c) => c.push_manifest_raw(image, body, content_type).await,
            Remote::Mtls(c) => c.push_manifest_raw(image, body, content_type).await,
        }
    }
}
