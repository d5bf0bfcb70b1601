//! Talking to a registry: which protocol and CAs (docker's rules), whose credentials (docker's
//! config.json, so a user logged in with docker is logged in with den), and what a failure means
//! in docker's words.
use std::net::Ipv4Addr;
use std::time::Duration;

use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::Client;

use super::certs::{certs_d, RegistryCerts};
use super::mtls::MtlsClient;
use super::remote::Remote;
use crate::image::error::ImageError;
use crate::image::reference::{Reference, DEFAULT_DOMAIN};

/// How long connecting may take: an unreachable registry is a short, clear error.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Plain HTTP only where docker allows it: configured registries, `localhost` and 127.0.0.0/8.
pub(crate) fn insecure(domain: &str) -> bool {
    let host = host_of(domain);
    if host == "localhost" || host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback()) {
        return true;
    }
    // den's config file (`crate::config`: docker's `insecure-registries` key).
    let insecure = crate::config::load()
        .map(|c| c.insecure_registries)
        .unwrap_or_default();
    insecure.iter().any(|r| r == domain || r == host)
}

fn host_of(domain: &str) -> &str {
    match domain.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => domain,
    }
}

/// The client config for `reference`'s registry: the system's CA roots plus certs.d's `*.crt`.
fn client_config(reference: &Reference, certs: &RegistryCerts) -> ClientConfig {
    let protocol = if insecure(reference.domain()) {
        ClientProtocol::Http
    } else {
        ClientProtocol::Https
    };
    let extra_root_certificates = certs
        .cas
        .iter()
        .map(|pem| Certificate {
            encoding: CertificateEncoding::Pem,
            data: pem.clone(),
        })
        .collect();
    ClientConfig {
        protocol,
        extra_root_certificates,
        connect_timeout: Some(CONNECT_TIMEOUT),
        read_timeout: Some(READ_TIMEOUT),
        max_concurrent_download: 3,
        ..ClientConfig::default()
    }
}

/// The client for `reference`'s registry: oci-client's, or den's own where certs.d names a client
/// certificate (oci-client takes none). oci-client's `Client::new` would fall back to a default
/// config (HTTPS, no CAs, no timeouts) if this one fails to build, e.g. on a bad CA file: that is
/// refused instead, naming the certs.d dir.
pub(crate) fn client(reference: &Reference) -> Result<Remote, ImageError> {
    let certs = RegistryCerts::of(reference.domain())?;
    let unusable = |source: OciDistributionError| ImageError::Registry {
        reference: reference.to_string(),
        message: format!(
            "{}: the registry client could not be set up (CA files in {}): {source}",
            reference.domain(),
            certs.dir.display()
        ),
        cause: Box::new(source),
    };
    if let Some(identity) = certs.reqwest_identity()? {
        let http = http_client(&certs)
            .and_then(|b| b.identity(identity).build())
            .map_err(|e| unusable(e.into()))?;
        let https = !insecure(reference.domain());
        return Ok(Remote::Mtls(MtlsClient::new(http, https)));
    }
    let client = Client::try_from(client_config(reference, &certs)).map_err(unusable)?;
    Ok(Remote::Oci(client))
}

/// A reqwest client as oci-client builds one: certs.d's CAs, the same timeouts.
pub(crate) fn http_client(certs: &RegistryCerts) -> Result<reqwest::ClientBuilder, reqwest::Error> {
    let cas = certs
        .cas
        .iter()
        .map(|pem| reqwest::Certificate::from_pem(pem))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(reqwest::Client::builder()
        .tls_certs_merge(cas)
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT))
}

/// The key docker's config.json files a registry's credentials under.
pub(crate) fn server_key(domain: &str) -> String {
    if domain == DEFAULT_DOMAIN {
        "https://index.docker.io/v1/".to_string()
    } else {
        domain.to_string()
    }
}

/// The credentials docker would use (`auths`, `credsStore`, `credHelpers`), else anonymous.
pub(crate) fn auth_for(domain: &str) -> RegistryAuth {
    match docker_credential::get_credential(&server_key(domain)) {
        Ok(docker_credential::DockerCredential::UsernamePassword(user, pass)) => {
            RegistryAuth::Basic(user, pass)
        }
        Ok(docker_credential::DockerCredential::IdentityToken(token)) => {
            RegistryAuth::Bearer(token)
        }
        Err(_) => RegistryAuth::Anonymous,
    }
}

/// The registry's answer in docker's words.
pub(crate) fn describe(reference: &Reference, e: &OciDistributionError) -> String {
    let name = reference.familiar_repository();
    let denied = || {
        format!(
            "pull access denied for {name}, repository does not exist or may require 'den login'"
        )
    };
    match e {
        OciDistributionError::RegistryError { envelope, .. } => {
            let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
            if codes
                .iter()
                .any(|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied))
            {
                return denied();
            }
            if codes
                .iter()
                .any(|c| matches!(c, OciErrorCode::ManifestUnknown | OciErrorCode::NameUnknown))
            {
                return format!("manifest for {reference} not found: manifest unknown");
            }
            let messages: Vec<&str> = envelope.errors.iter().map(|e| e.message.as_str()).collect();
            messages.join("; ")
        }
        OciDistributionError::ImageManifestNotFoundError(_) => {
            format!("manifest for {reference} not found: manifest unknown")
        }
        OciDistributionError::UnauthorizedError { .. }
        | OciDistributionError::AuthenticationFailure(_) => denied(),
        OciDistributionError::RequestError(r)
            if r.status()
                .is_some_and(|s| s.as_u16() == 401 || s.as_u16() == 403) =>
        {
            denied()
        }
        OciDistributionError::RequestError(r) => request_error(reference, r),
        other => other.to_string(),
    }
}

fn request_error(reference: &Reference, e: &reqwest::Error) -> String {
    let scheme = if insecure(reference.domain()) {
        "http"
    } else {
        "https"
    };
    let host = match reference.domain() {
        DEFAULT_DOMAIN => "registry-1.docker.io",
        other => other,
    };
    let url = format!("{scheme}://{host}/v2/");
    let mut cause = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    if e.is_timeout() {
        format!(
            "Get \"{url}\": timed out after {}s ({cause})",
            CONNECT_TIMEOUT.as_secs()
        )
    } else if cause.contains("BadCertificate") || cause.contains("CertificateRequired") {
        // The registry refused den's client certificate, or wanted one den did not have.
        let dir = certs_d().join(reference.domain());
        format!(
            "Get \"{url}\": {cause} (the registry wants a client certificate its CA signed: NAME.cert + NAME.key in {})",
            dir.display()
        )
    } else {
        format!("Get \"{url}\": {cause}")
    }
}
