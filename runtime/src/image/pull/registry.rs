//! Talking to a registry: which protocol and CAs (docker's rules), whose credentials (docker's
//! config.json, so a user logged in with docker is logged in with den), and what a failure means
//! in docker's words.
use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::Client;

use crate::image::error::ImageError;
use crate::image::reference::{Reference, DEFAULT_DOMAIN};

/// Per-registry CAs, laid out like docker's `/etc/docker/certs.d/HOST:PORT/*.crt`.
const CERTS_D: &str = "/etc/den/certs.d";
/// How long connecting may take: an unreachable registry is a short, clear error.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const READ_TIMEOUT: Duration = Duration::from_secs(60);

fn certs_d() -> PathBuf {
    std::env::var_os("DEN_CERTS_D").map_or_else(|| PathBuf::from(CERTS_D), PathBuf::from)
}

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

/// The client config for `reference`'s registry. The system's CA roots plus `certs.d/DOMAIN/*.crt`.
fn client_config(reference: &Reference) -> ClientConfig {
    let protocol = if insecure(reference.domain()) {
        ClientProtocol::Http
    } else {
        ClientProtocol::Https
    };
    ClientConfig {
        protocol,
        extra_root_certificates: registry_cas(&certs_d().join(reference.domain())),
        connect_timeout: Some(CONNECT_TIMEOUT),
        read_timeout: Some(READ_TIMEOUT),
        max_concurrent_download: 3,
        ..ClientConfig::default()
    }
}

/// The client for `reference`'s registry. oci-client's `Client::new` would fall back to a
/// default config (HTTPS, no CAs, no timeouts) if this one fails to build, e.g. on a bad CA file:
/// that is refused instead, naming the certs.d dir.
pub(crate) fn client(reference: &Reference) -> Result<Client, ImageError> {
    Client::try_from(client_config(reference)).map_err(|source| ImageError::Registry {
        reference: reference.to_string(),
        message: format!(
            "{}: the registry client could not be set up (CA files in {}): {source}",
            reference.domain(),
            certs_d().join(reference.domain()).display()
        ),
        cause: Box::new(source),
    })
}

fn registry_cas(dir: &Path) -> Vec<Certificate> {
    pems(dir)
        .into_iter()
        .map(|data| Certificate {
            encoding: CertificateEncoding::Pem,
            data,
        })
        .collect()
}

/// The PEM CAs of `domain` in certs.d.
pub(crate) fn ca_pems(domain: &str) -> Vec<Vec<u8>> {
    pems(&certs_d().join(domain))
}

fn pems(dir: &Path) -> Vec<Vec<u8>> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "crt"))
        .filter_map(|p| fs::read(p).ok())
        .collect()
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
    } else {
        format!("Get \"{url}\": {cause}")
    }
}
