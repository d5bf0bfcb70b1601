//! The registry client for a registry that wants a TLS client certificate (certs.d's
//! `NAME.cert` + `NAME.key`). oci-client 0.18 builds its reqwest client itself and takes no client
//! identity (its `ClientConfig` has CA roots only and no hook for a client of one's own), so den
//! makes the few distribution API calls a pull and a push need on a reqwest client that offers
//! the identity: manifests and blobs (with a byte range), blob HEAD / mount / upload, and the
//! registry's auth challenge (Basic, or a Bearer token from the realm it names). Failures are
//! oci-client's error values, so they read the same as with oci-client.
use std::sync::Mutex;

use base64::Engine as _;
use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use oci_client::client::{BlobResponse, SizedStream};
use oci_client::errors::{OciDistributionError, OciEnvelope, Result};
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;
use oci_client::{Reference, RegistryOperation};
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION, RANGE};
use reqwest::{RequestBuilder, Response, StatusCode};

pub(crate) struct MtlsClient {
    http: reqwest::Client,
    scheme: &'static str,
    /// The credentials of the last manifest pull or `auth`, for the challenge.
    auth: Mutex<RegistryAuth>,
    /// The `Authorization` the last challenge was answered with.
    authorization: Mutex<Option<HeaderValue>>,
    operation: Mutex<RegistryOperation>,
}

impl MtlsClient {
    pub(crate) fn new(http: reqwest::Client, https: bool) -> MtlsClient {
        MtlsClient {
            http,
            scheme: if https { "https" } else { "http" },
            auth: Mutex::new(RegistryAuth::Anonymous),
            authorization: Mutex::new(None),
            operation: Mutex::new(RegistryOperation::Pull),
        }
    }

    fn url(&self, image: &Reference, tail: &str) -> String {
        format!(
            "{}://{}/v2/{}/{tail}",
            self.scheme,
            image.resolve_registry(),
            image.repository()
        )
    }

    fn remember(&self, auth: &RegistryAuth, operation: RegistryOperation) {
        *lock(&self.auth) = auth.clone();
        *lock(&self.operation) = operation;
    }

    pub(crate) async fn auth(
        &self,
        image: &Reference,
        auth: &RegistryAuth,
        operation: RegistryOperation,
    ) -> Result<()> {
        self.remember(auth, operation);
        let url = format!("{}://{}/v2/", self.scheme, image.resolve_registry());
        ok(self.send(image, |c| c.get(&url)).await?).await.map(drop)
    }

    pub(crate) async fn pull_manifest_raw(
        &self,
        image: &Reference,
        auth: &RegistryAuth,
        accepted: &[&str],
    ) -> Result<(Bytes, String)> {
        self.remember(auth, RegistryOperation::Pull);
        let tail = format!(
            "manifests/{}",
            image.digest().or(image.tag()).unwrap_or("latest")
        );
        let url = self.url(image, &tail);
        let accept = accepted.join(", ");
        let response = ok(self
            .send(image, |c| c.get(&url).header(ACCEPT, &accept))
            .await?)
        .await?;
        let digest = header(&response, "docker-content-digest").unwrap_or_default();
        Ok((response.bytes().await?, digest))
    }

    pub(crate) async fn pull_blob_stream_partial(
        &self,
        image: &Reference,
        layer: &OciDescriptor,
        offset: u64,
        length: Option<u64>,
    ) -> Result<BlobResponse> {
        let url = self.url(image, &format!("blobs/{}", layer.digest));
        let range = match length {
            Some(n) if n > 0 => format!("bytes={offset}-{}", offset + n - 1),
            _ => format!("bytes={offset}-"),
        };
        let response = ok(self
            .send(image, |c| c.get(&url).header(RANGE, &range))
            .await?)
        .await?;
        let partial = response.status() == StatusCode::PARTIAL_CONTENT;
        let sized = SizedStream {
            content_length: response.content_length(),
            digest_header_value: header(&response, "docker-content-digest"),
            stream: response
                .bytes_stream()
                .map_err(std::io::Error::other)
                .boxed(),
        };
        Ok(if partial {
            BlobResponse::Partial(sized)
        } else {
            BlobResponse::Full(sized)
        })
    }

    pub(crate) async fn blob_exists(&self, image: &Reference, digest: &str) -> Result<bool> {
        let url = self.url(image, &format!("blobs/{digest}"));
        let response = self.send(image, |c| c.head(&url)).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(false);
        }
        ok(response).await.map(|_| true)
    }

    pub(crate) async fn mount_blob(
        &self,
        image: &Reference,
        source: &Reference,
        digest: &str,
    ) -> Result<()> {
        let url = self.url(image, "blobs/uploads/");
        let query = [("mount", digest), ("from", source.repository())];
        let response = self.send(image, |c| c.post(&url).query(&query)).await?;
        if response.status() == StatusCode::CREATED {
            return Ok(());
        }
        // 202: the registry opened an upload instead of mounting.
        Err(OciDistributionError::SpecViolationError(format!(
            "mount of {digest} from {} not done ({})",
            source.repository(),
            response.status()
        )))
    }

    /// One upload session: POST, the whole stream in one PATCH, then PUT with the digest.
    pub(crate) async fn push_blob_stream<T>(
        &self,
        image: &Reference,
        data: T,
        digest: &str,
    ) -> Result<String>
    where
        T: Stream<Item = Result<Bytes>> + Send + 'static,
    {
        let start = self.url(image, "blobs/uploads/");
        let response = ok(self.send(image, |c| c.post(&start)).await?).await?;
        let location = self.location(&response)?;
        let body = reqwest::Body::wrap_stream(data.map_err(std::io::Error::other));
        let patch = self
            .authorized(self.http.patch(location.as_str()))
            .header(CONTENT_TYPE, "application/octet-stream")
            .body(body);
        let response = ok(patch.send().await?).await?;
        let mut url = self.location(&response)?;
        url.query_pairs_mut().append_pair("digest", digest);
        let put = self.authorized(self.http.put(url.as_str()));
        let response = ok(put.send().await?).await?;
        Ok(header(&response, "location").unwrap_or_default())
    }

    pub(crate) async fn push_manifest_raw(
        &self,
        image: &Reference,
        body: Bytes,
        content_type: HeaderValue,
    ) -> Result<String> {
        let tail = format!(
            "manifests/{}",
            image.digest().or(image.tag()).unwrap_or("latest")
        );
        let url = self.url(image, &tail);
        let response = self
            .send(image, |c| {
                c.put(&url)
                    .header(CONTENT_TYPE, content_type.clone())
                    .body(body.clone())
            })
            .await?;
        let response = ok(response).await?;
        Ok(header(&response, "location").unwrap_or_default())
    }

    /// An upload's next URL (`Location`, maybe relative to the registry).
    fn location(&self, response: &Response) -> Result<reqwest::Url> {
        let location = header(response, LOCATION.as_str())
            .ok_or(OciDistributionError::RegistryNoLocationError)?;
        response.url().join(&location).map_err(|e| {
            OciDistributionError::SpecViolationError(format!("Location {location}: {e}"))
        })
    }

    fn authorized(&self, request: RequestBuilder) -> RequestBuilder {
        match lock(&self.authorization).clone() {
            Some(value) => request.header(AUTHORIZATION, value),
            None => request,
        }
    }

    /// `build`'s request, answering a 401's challenge once and asking again.
    async fn send(
        &self,
        image: &Reference,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Response> {
        let response = self.authorized(build(&self.http)).send().await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let challenge = header(&response, "www-authenticate").unwrap_or_default();
        let Some(value) = self.answer(image, &challenge).await? else {
            return Ok(response);
        };
        *lock(&self.authorization) = Some(value);
        Ok(self.authorized(build(&self.http)).send().await?)
    }

    /// The `Authorization` that answers `challenge`, `None` if den has nothing to answer with.
    async fn answer(&self, image: &Reference, challenge: &str) -> Result<Option<HeaderValue>> {
        let auth = lock(&self.auth).clone();
        let (scheme, params) = challenge.split_once(' ').unwrap_or((challenge, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            let RegistryAuth::Basic(user, pass) = auth else {
                return Ok(None);
            };
            let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
            return Ok(HeaderValue::from_str(&format!("Basic {b64}")).ok());
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Ok(None);
        }
        let param = |name: &str| {
            params
                .split(',')
                .filter_map(|p| p.trim().split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().trim_matches('"').to_string())
        };
        let Some(realm) = param("realm") else {
            return Ok(None);
        };
        let actions = match *lock(&self.operation) {
            RegistryOperation::Pull => "pull",
            RegistryOperation::Push => "pull,push",
        };
        let scope = format!("repository:{}:{actions}", image.repository());
        let service = param("service").unwrap_or_default();
        let mut request = self
            .http
            .get(&realm)
            .query(&[("service", service.as_str()), ("scope", scope.as_str())]);
        match &auth {
            RegistryAuth::Basic(user, pass) => request = request.basic_auth(user, Some(pass)),
            RegistryAuth::Bearer(token) => request = request.bearer_auth(token),
            RegistryAuth::Anonymous => {}
        }
        let response = request.send().await?;
        if !response.status().is_success() {
            return Err(OciDistributionError::AuthenticationFailure(format!(
                "token from {realm}: {}",
                response.status()
            )));
        }
        #[derive(serde::Deserialize)]
        struct Token {
            token: Option<String>,
            access_token: Option<String>,
        }
        let body = response.bytes().await?;
        let token: Token = serde_json::from_slice(&body)
            .map_err(|e| OciDistributionError::RegistryTokenDecodeError(e.to_string()))?;
        let token = token.token.or(token.access_token).unwrap_or_default();
        Ok(HeaderValue::from_str(&format!("Bearer {token}")).ok())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// `response` if it succeeded, else the registry's error as oci-client gives it.
async fn ok(response: Response) -> Result<Response> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let url = response.url().to_string();
    if status == StatusCode::UNAUTHORIZED {
        return Err(OciDistributionError::UnauthorizedError { url });
    }
    let body = response.bytes().await?;
    match serde_json::from_slice::<OciEnvelope>(&body) {
        Ok(envelope) if !envelope.errors.is_empty() => {
            Err(OciDistributionError::RegistryError { envelope, url })
        }
        _ => Err(OciDistributionError::ServerError {
            code: status.as_u16(),
            url,
            message: String::from_utf8_lossy(&body).trim().to_string(),
        }),
    }
}
