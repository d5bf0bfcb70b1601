//! Step 1: check everything and settle every value the container gets, before anything is created.
//! For `den run` from the options and the image; for `den start` from the container's record and the
//! options it was first run with (`saved`).

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use den_netcfg::{Networks, Plan, PortSpec, Request};

use super::netjoin::JoinedNet;
use super::saved::Saved;
use super::{names, NetworkMode, RunError, RunOptions};
use crate::image::{Image, ImageStore};
use crate::state::{self, Container, Store};

/// Everything the container will be, validated; nothing exists yet (or, for `start`, nothing new).
pub(crate) struct Validated {
    pub root: PathBuf,
    pub id: String,
    pub name: String,
    pub image_ref: String,
    pub image: Image,
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub hostname: String,
    pub saved: Saved,
    pub network: NetworkMode,
    pub plan: Option<Plan>,
    /// `den start`: the networks `den network connect` had added, planned again (eth1, ...).
    pub connect_plans: Vec<Plan>,
    /// `--network container:NAME`: NAME's network namespace, held open, and its /etc files.
    pub joined: Option<JoinedNet>,
    pub interactive: bool,
    pub tty: bool,
    pub auto_remove: bool,
    /// `den start`: the exited container whose id, name and directories are reused.
    pub existing: Option<Container>,
    /// Its volumes, binds and tmpfs mounts, and `--read-only`.
    pub mounts: crate::volume::Mounts,
    /// `--network-alias`, labels, `--expose`, `--cidfile` (for the record; `den start` keeps them).
    pub extra: Extra,
    /// Restart policy, health check, stop signal.
    pub life: crate::state::Life,
}

/// What the record gets beyond the basics, and the `--cidfile` to write once it exists.
#[derive(Debug, Clone, Default)]
pub(crate) struct Extra {
    pub aliases: Vec<String>,
    pub labels: std::collections::BTreeMap<String, String>,
    pub exposed: Vec<String>,
    pub cidfile: Option<PathBuf>,
}

struct PlanInputs<'a> {
    root: &'a Path,
    network: &'a NetworkMode,
    id: &'a str,
    name: &'a str,
    ip: Option<Ipv4Addr>,
    publish: &'a [PortSpec],
    mac: Option<[u8; 6]>,
}

fn plan(p: PlanInputs<'_>) -> Result<Option<Plan>, RunError> {
    let NetworkMode::Bridge(net) = p.network else {
        return Ok(None);
    };
    let plan = Networks::new(p.root).plan(&Request {
        network: net,
        container_id: p.id,
        container_name: p.name,
        ip: p.ip,
        publish: p.publish,
    })?;
    Ok(Some(match p.mac {
        Some(mac) => plan.with_mac(mac),
        None => plan,
    }))
}

impl Validated {
    /// `den run`: the options, the image and the network plan.
    pub fn new(opts: &RunOptions) -> Result<Validated, RunError> {
        let net = opts.net_flags.settle(&opts.network)?;
        opts.validate()?;
        if let NetworkMode::Lab(mode) = opts.network {
            mode.check().map_err(Box::new)?;
        }
        let host = crate::hostconfig::HostConfig::parse(&opts.security)?;
        let own_netns = matches!(
            opts.network,
            NetworkMode::None | NetworkMode::Bridge(_) | NetworkMode::Lab(_)
        );
        host.check_network(own_netns, &opts.network.to_string())?;
        let image = ImageStore::new(&opts.root).resolve(&opts.image)?;
        let args = opts.command(&image.config)?;
        let life = opts.life.resolve(&image.config, opts.rm)?;
        let id = state::new_id();
        let name = opts.name.clone().unwrap_or_else(|| names::generate(&id));
        // Checked again, atomically, when the name is reserved; checked here too so `den run -d`
        // reports it from the command itself, typed (a dead container's name is collected then).
        if opts.name.is_some() {
            state::validate_name(&name)?;
            if Store::new(&opts.root).name_taken(&name) {
                return Err(state::StateError::NameInUse(name).into());
            }
        }
        let publish = match opts.net_flags.publish_all {
            true => super::netflags::publish_all(
                &opts.publish,
                &[image.config.exposed(), &net.exposed].concat(),
            ),
            false => opts.publish.clone(),
        };
        let plan = plan(PlanInputs {
            root: &opts.root,
            network: &opts.network,
            id: &id,
            name: &name,
            ip: opts.ip,
            publish: &publish,
            mac: net.mac,
        })?;
        let joined = joined(&opts.root, &opts.network)?;
        let mounts = super::storage::plan(&opts.root, &opts.storage, &image.config.volumes)?;
        let hostname = joined
            .as_ref()
            .map_or_else(|| opts.hostname(&id), |j| j.hostname().to_owned());
        Ok(Validated {
            root: opts.root.clone(),
            env: opts.env(&image.config, &hostname),
            saved: Saved {
                cwd: opts.workdir(&image.config),
                user: opts.user.clone().or_else(|| image.config.user.clone()),
                entrypoint: Some(opts.entrypoint_of(&image.config)),
                host,
                etc: net.etc,
                mac: net.mac,
                publish: opts.publish.iter().map(ToString::to_string).collect(),
                ip: opts.ip,
            },
            hostname,
            id,
            name,
            image_ref: lasting_reference(&opts.image),
            image,
            args,
            network: opts.network.clone(),
            plan,
            connect_plans: Vec::new(),
            joined,
            interactive: opts.interactive,
            tty: opts.tty,
            auto_remove: opts.rm,
            life,
            existing: None,
            mounts,
            extra: Extra {
                aliases: net.aliases,
                labels: opts.labels.clone(),
                exposed: net.exposed,
                // Absolute: a detached container's supervisor works from `/`.
                cidfile: opts
                    .cidfile
                    .as_ref()
                    .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone())),
            },
        })
    }

    /// `den start`: the same command, env, hostname, network and published host ports as before, and
    /// the same address if nobody has taken it meanwhile.
    pub fn restart(root: &Path, c: Container) -> Result<Validated, RunError> {
        let store = Store::new(root);
        let saved = Saved::load(&store.dir(&c.id))?;
        let image = ImageStore::new(root).resolve(&c.image)?;
        let network: NetworkMode =
            c.network_mode
                .parse()
                .map_err(|_| RunError::UnknownNetwork {
                    name: c.name.clone(),
                    mode: c.network_mode.clone(),
                })?;
        let old = c.network.as_ref();
        let publish: Vec<PortSpec> = match old {
            Some(n) => n.ports.iter().map(super::saved::exact_spec).collect(),
            // Never started (`den create`): the specs it was created with.
            None => saved
                .publish
                .iter()
                .filter_map(|p| p.parse().ok())
                .collect(),
        };
        let ip = match old {
            Some(att) => still_free(root, &att.network, att.ip, &c.id)?,
            None => saved.ip,
        };
        let plan = plan(PlanInputs {
            root,
            network: &network,
            id: &c.id,
            name: &c.name,
            ip,
            publish: &publish,
            mac: saved.mac,
        })?;
        let connect_plans = connect_plans(root, &c)?;
        Ok(Validated {
            root: root.to_path_buf(),
            id: c.id.clone(),
            name: c.name.clone(),
            image_ref: c.image.clone(),
            image,
            args: c.command.clone(),
            env: c.env.clone(),
            hostname: c.hostname.clone(),
            saved,
            joined: joined(root, &network)?,
            network,
            plan,
            connect_plans,
            interactive: false,
            tty: false,
            auto_remove: c.auto_remove,
            life: c.life.clone(),
            mounts: crate::volume::load(&store.dir(&c.id))?,
            extra: Extra {
                aliases: c.aliases.get(&c.network_mode).cloned().unwrap_or_default(),
                labels: c.labels.clone(),
                exposed: c.exposed_ports.clone(),
                cidfile: None,
            },
            existing: Some(c),
        })
    }
}

/// `--network container:NAME`: pin NAME's network namespace (it must run).
fn joined(root: &Path, network: &NetworkMode) -> Result<Option<JoinedNet>, RunError> {
    match network {
        NetworkMode::Container(other) => Ok(Some(JoinedNet::open(root, other)?)),
        _ => Ok(None),
    }
}

/// The image reference as `den start` can resolve it again from any directory: a relative path
/// (`DIR`, `DIR:TAG`, `FILE`) made absolute; names and absolute paths as they are.
fn lasting_reference(image: &str) -> String {
    let absolute = |p: &str| {
        let path = Path::new(p);
        (path.is_relative() && path.exists())
            .then(|| std::path::absolute(path).ok())
            .flatten()
            .map(|a| a.display().to_string())
    };
    if let Some(a) = absolute(image) {
        return a;
    }
    match image.rsplit_once(':') {
        Some((p, tag)) => absolute(p).map_or_else(|| image.to_string(), |a| format!("{a}:{tag}")),
        None => image.to_string(),
    }
}

/// `ip` if no other container holds a lease on it in `network` now.
fn still_free(
    root: &Path,
    network: &str,
    ip: Ipv4Addr,
    id: &str,
) -> Result<Option<Ipv4Addr>, RunError> {
    let free = Networks::new(root).ip_free(network, ip, id)?;
    Ok(free.then_some(ip))
}

/// `den start`: the networks `network connect` added (the same address if still free), then
/// those it was given while the container did not run, planned as its eth1, eth2, ...
fn connect_plans(root: &Path, c: &Container) -> Result<Vec<Plan>, RunError> {
    let mut wanted = Vec::new();
    for att in &c.connected {
        wanted.push((&att.network, still_free(root, &att.network, att.ip, &c.id)?));
    }
    wanted.extend(c.pending_networks.iter().map(|p| (&p.network, p.ip)));
    let mut plans = Vec::new();
    for (n, (network, ip)) in (1u8..).zip(wanted) {
        let plan = Networks::new(root).plan(&Request {
            network,
            container_id: &c.id,
            container_name: &c.name,
            ip,
            publish: &[],
        })?;
        plans.push(plan.nth_network(n)?);
    }
    Ok(plans)
}
