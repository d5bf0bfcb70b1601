//! `den login` / `den logout`: credentials checked against the registry (its `/v2/`, then the
//! token service its challenge names), then written to docker's config.json (`auths`), so den and
//! docker share one login.
use std::fs;
use std::path::PathBuf;

use base64::Engine as _;
use serde_json::{json, Value};

use super::certs::RegistryCerts;
use super::registry;
use crate::image::error::ImageError;
use crate::image::reference::DEFAULT_DOMAIN;

fn config_file() -> PathBuf {
    let dir = std::env::var_os("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")));
    dir.unwrap_or_else(|| PathBuf::from("/root/.docker"))
        .join("config.json")
}

fn domain_of(server: Option<&str>) -> String {
    match server {
        None | Some("docker.io" | "index.docker.io" | "https://index.docker.io/v1/") => {
            DEFAULT_DOMAIN.to_string()
        }
        Some(s) => s
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string(),
    }
}

fn login_failed(server: &str, reason: String) -> ImageError {
    ImageError::Login {
        server: server.to_string(),
        reason,
    }
}

/// Checks `user`:`pass` against `server` (default Docker Hub) and records them. Returns the
/// key they are recorded under.
pub fn login(server: Option<&str>, user: &str, pass: &str) -> Result<String, ImageError> {
    let domain = domain_of(server);
    let key = registry::server_key(&domain);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ImageError::io("tokio runtime", e))?;
    runtime.block_on(check(&domain, user, pass))?;
    let path = config_file();
    let mut config: Value = fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_else(|| json!({}));
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    if !config["auths"].is_object() {
        config["auths"] = json!({});
    }
    config["auths"][&key] = json!({ "auth": auth });
    write(&path, &config)?;
    Ok(key)
}

/// Forgets the credentials of `server`; returns their key, `None` if there were none.
pub fn logout(server: Option<&str>) -> Result<Option<String>, ImageError> {
    let key = registry::server_key(&domain_of(server));
    let path = config_file();
    let Some(mut config) = fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
    else {
        return Ok(None);
    };
    let removed = config["auths"]
        .as_object_mut()
        .and_then(|auths| auths.remove(&key))
        .is_some();
    if removed {
        write(&path, &config)?;
    }
    Ok(removed.then_some(key))
}

fn write(path: &std::path::Path, config: &Value) -> Result<(), ImageError> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| ImageError::io(dir, e))?;
    }
    let tmp = path.with_extension(format!("json.tmp.{}", std::process::id()));
    let bytes = serde_json::to_vec_pretty(config).unwrap_or_default();
    let result = fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| std::io::Write::write_all(&mut f, &bytes))
        .and_then(|()| fs::rename(&tmp, path));
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        ImageError::io(path, e)
    })
}

/// docker's login check: `/v2/` with basic auth; a Bearer challenge is answered by asking its
/// realm for a token with the same credentials.
async fn check(domain: &str, user: &str, pass: &str) -> Result<(), ImageError> {
    let scheme = if registry::insecure(domain) {
        "http"
    } else {
        "https"
    };
    let host = if domain == DEFAULT_DOMAIN {
        "registry-1.docker.io"
    } else {
        domain
    };
    let certs = RegistryCerts::of(domain)?;
    let identity = certs.reqwest_identity()?;
    let client = registry::http_client(&certs)
        .and_then(|b| match identity {
            Some(identity) => b.identity(identity).build(),
            None => b.build(),
        })
        .map_err(|e| login_failed(domain, e.to_string()))?;
    let url = format!("{scheme}://{host}/v2/");
    let fail =
        |e: reqwest::Error| login_failed(domain, format!("Get \"{url}\": {}", root_cause(&e)));
    let response = client
        .get(&url)
        .basic_auth(user, Some(pass))
        .send()
        .await
        .map_err(fail)?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if status.as_u16() == 401 && challenge.to_ascii_lowercase().starts_with("bearer") {
        let param = |name: &str| {
            challenge
                .split(',')
                .filter_map(|p| p.trim().trim_start_matches("Bearer ").split_once('='))
                .find(|(k, _)| k.trim() == name)
                .map(|(_, v)| v.trim_matches('"').to_string())
        };
        if let Some(realm) = param("realm") {
            let service = param("service").unwrap_or_default();
            let token_url = format!("{realm}?service={service}&account={user}");
            let token = client
                .get(&token_url)
                .basic_auth(user, Some(pass))
                .send()
                .await
                .map_err(fail)?;
            if token.status().is_success() {
                return Ok(());
            }
        }
    }
    Err(login_failed(
        domain,
        "unauthorized: incorrect username or password".to_string(),
    ))
}

fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cause = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    cause
}
