//! What the user asked `den run` for, and the docker rules that turn it plus the image config into a
//! command, environment, working directory and hostname.

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use den_netcfg::PortSpec;

use super::netjoin::JoinedNet;
use super::RunError;
use crate::envflags;
use crate::image::ImageConfig;
use crate::spec::NetNs;

/// `--network`: none (own netns, only lo), host (the host's netns), a bridge network by name, or
/// `container:NAME` (NAME's netns, see `netjoin`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkMode {
    None,
    Host,
    Bridge(String),
    Container(String),
    /// Seed 001's `isolated` and `hostonly` (see `den_netcfg::lab`).
    Lab(den_netcfg::lab::Mode),
}

impl std::str::FromStr for NetworkMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(NetworkMode::None),
            "host" => Ok(NetworkMode::Host),
            other if den_netcfg::lab::Mode::parse(other).is_some() => Ok(NetworkMode::Lab(
                den_netcfg::lab::Mode::parse(other).expect("checked"),
            )),
            other => match other.strip_prefix("container:") {
                Some("") => Err(format!(
                    "invalid network {other:?}: use container:NAME with a container's name"
                )),
                Some(name) => Ok(NetworkMode::Container(name.into())),
                // A user network by name; `den run` fails with `network "x" not found` if there is none.
                None => Ok(NetworkMode::Bridge(other.into())),
            },
        }
    }
}

impl fmt::Display for NetworkMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetworkMode::None => f.write_str("none"),
            NetworkMode::Host => f.write_str("host"),
            NetworkMode::Bridge(n) => f.write_str(n),
            NetworkMode::Container(n) => write!(f, "container:{n}"),
            NetworkMode::Lab(m) => f.write_str(m.as_str()),
        }
    }
}

impl NetworkMode {
    /// The namespace for the spec (`container:` is resolved by `run` to the other's; see netjoin).
    pub fn netns(&self) -> NetNs {
        match self {
            NetworkMode::Host => NetNs::Host,
            _ => NetNs::New,
        }
    }
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub root: PathBuf,
    pub image: String,
    pub cmd: Vec<String>,
    pub entrypoint: Option<String>,
    pub name: Option<String>,
    pub hostname: Option<String>,
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub interactive: bool,
    pub tty: bool,
    /// `-a STDOUT|STDERR`: the streams shown on den's terminal (None: not given, both); the log
    /// keeps both. stdin is attached with `-i`, as docker's.
    pub attach: Option<super::Attached>,
    /// `--sig-proxy` (default true): den passes the signals it gets on to the container.
    pub sig_proxy: bool,
    pub rm: bool,
    pub network: NetworkMode,
    pub ip: Option<Ipv4Addr>,
    pub publish: Vec<PortSpec>,
    /// The security and resource flags, as typed (parsed in step 1).
    pub security: crate::hostconfig::Flags,
    /// `-v`, `--mount`, `--tmpfs`, `--volumes-from` as given (parsed by `crate::volume`), and
    /// `--read-only`.
    pub storage: Storage,
    /// `--dns*`, `--add-host`, `--network-alias`, `--mac-address`, `-P`, `--expose` as typed.
    pub net_flags: super::netflags::NetFlags,
    /// `-l` and `--label-file`, merged (docker's Config.Labels).
    pub labels: BTreeMap<String, String>,
    /// `--cidfile`: the file the container's id is written to once it exists (must not exist).
    pub cidfile: Option<PathBuf>,
    /// `--restart`, `--health-*`, `--stop-signal`, `--stop-timeout` as typed.
    pub life: super::LifeFlags,
}

/// The container's filesystem flags, as given on the command line.
#[derive(Debug, Clone, Default)]
pub struct Storage {
    pub volumes: Vec<String>,
    pub mounts: Vec<String>,
    pub tmpfs: Vec<String>,
    pub volumes_from: Vec<String>,
    pub read_only: bool,
}

impl RunOptions {
    /// The checks that need nothing but the options themselves.
    pub fn validate(&self) -> Result<(), RunError> {
        if matches!(self.network, NetworkMode::Container(_)) {
            JoinedNet::check_options(!self.publish.is_empty(), self.hostname.is_some())?;
        }
        envflags::check(&self.env, self.workdir.as_ref())?;
        if let Some(path) = self.cidfile.as_ref().filter(|p| p.exists()) {
            return Err(RunError::CidFileExists(path.clone()));
        }
        if self.ip.is_some() && !matches!(self.network, NetworkMode::Bridge(_)) {
            return Err(RunError::IpWithoutBridge(self.network.to_string()));
        }
        let publishes = !self.publish.is_empty() || self.net_flags.publish_all;
        if publishes && !matches!(self.network, NetworkMode::Bridge(_)) {
            eprintln!(
                "den: published ports are discarded when using --network {}",
                self.network
            );
        }
        Ok(())
    }

    /// docker's rule: ENTRYPOINT (or --entrypoint) followed by CMD, where a CMD given on the command line
    /// replaces the image's.
    pub fn command(&self, img: &ImageConfig) -> Result<Vec<String>, RunError> {
        let mut args = self.entrypoint_of(img);
        if !self.cmd.is_empty() {
            args.extend(self.cmd.iter().cloned());
        } else if self.entrypoint.is_none() {
            args.extend(img.cmd.iter().cloned());
        }
        if args.is_empty() {
            return Err(RunError::NoCommand(self.image.clone()));
        }
        Ok(args)
    }

    /// `--entrypoint` (`""` for none) or the image's: the head of [`RunOptions::command`].
    pub fn entrypoint_of(&self, img: &ImageConfig) -> Vec<String> {
        match &self.entrypoint {
            Some(e) if e.is_empty() => Vec::new(),
            Some(e) => vec![e.clone()],
            None => img.entrypoint.clone(),
        }
    }

    /// The image's Env, then `-e` (`-e K` takes K from den's own environment, as docker does); later wins.
    pub fn env(&self, img: &ImageConfig, hostname: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        if !envflags::has(&img.env, "PATH") {
            out.push("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
        }
        for e in &img.env {
            envflags::set(&mut out, e.clone());
        }
        envflags::apply(&mut out, &self.env);
        if !envflags::has(&out, "HOSTNAME") {
            out.push(format!("HOSTNAME={hostname}"));
        }
        if self.tty && !envflags::has(&out, "TERM") {
            out.push("TERM=xterm".into());
        }
        out
    }

    /// `--hostname`, else the host's name with `--network host`, else the short id (docker's defaults).
    pub fn hostname(&self, id: &str) -> String {
        if let Some(h) = &self.hostname {
            return h.clone();
        }
        if self.network == NetworkMode::Host {
            if let Ok(h) = nix::unistd::gethostname() {
                return h.to_string_lossy().into_owned();
            }
        }
        id[..12].to_string()
    }

    pub fn workdir(&self, img: &ImageConfig) -> String {
        self.workdir
            .clone()
            .or_else(|| img.working_dir.clone().filter(|w| !w.is_empty()))
            .unwrap_or_else(|| "/".into())
    }
}
