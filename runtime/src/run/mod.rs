//! `den run`: the design's step list, in the same order.
//!
//! 1. validate everything (options, image, network plan) before anything is created;
//! 2. reserve the name, create the state dir and the overlay's upper/work dirs;
//! 3. clone the child into its new namespaces — it waits on the sync socket;
//! 4. netcfg attaches the child's netns (bridge, veth, lease, routes, firewall);
//! 5. write /etc/hostname, /etc/hosts, /etc/resolv.conf for it;
//! 6. release the child: it mounts, pivots, drops privileges and execs;
//! 7. wait (forwarding signals), then tear down: network detached, state kept or removed (`--rm`).
//!
//! Every step that makes something holds a guard that undoes it on drop, so a failure at step N undoes
//! steps 1..N-1.

mod etc;
mod names;
mod netguard;
mod netjoin;
mod options;

use std::fs;
use std::io;
use std::path::PathBuf;

use den_netcfg::{AttachError, Plan};

use crate::image::{ImageError, ImageStore};
use crate::process::{self, Exit, Launch, Overlay, ProcessError};
use crate::spec::{self, SpecError, SpecInputs};
use crate::state::{self, Container, StateError, Status, Store};
use netguard::NetGuard;
pub use netjoin::JoinError;
use netjoin::JoinedNet;
pub use options::{NetworkMode, RunOptions};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("invalid environment variable {0:?}: the name is empty")]
    EmptyEnvKey(String),
    #[error("working directory {0:?} is not an absolute path")]
    RelativeWorkdir(String),
    #[error("--ip needs a bridge network, not --network {0}")]
    IpWithoutBridge(String),
    #[error("no command specified: image {0} has no Cmd or Entrypoint")]
    NoCommand(String),
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Process(#[from] ProcessError),
    #[error(transparent)]
    Network(#[from] AttachError),
    #[error(transparent)]
    Join(#[from] JoinError),
    #[error(transparent)]
    Hosts(#[from] crate::hosts::HostsError),
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl RunError {
    /// docker's convention: 125 when den itself failed, 126/127 when the command could not be run.
    pub fn exit_status(&self) -> i32 {
        match self {
            RunError::Process(e) => e.exit_status(),
            _ => 125,
        }
    }
}

/// Run a container in the foreground and return the status `den` should exit with.
pub fn run(opts: &RunOptions) -> Result<i32, RunError> {
    // 1. Validate everything before anything is created.
    opts.validate()?;
    let image = ImageStore::new(&opts.root).resolve(&opts.image)?;
    let args = opts.command(&image.config)?;
    let id = state::new_id();
    let name = opts.name.clone().unwrap_or_else(|| names::generate(&id));
    let plan = match &opts.network {
        NetworkMode::Bridge(net) => Some(Plan::new(&den_netcfg::Request {
            root: &opts.root,
            network: net,
            container_id: &id,
            container_name: &name,
            ip: opts.ip,
            publish: &opts.publish,
            verbose: opts.verbose || den_netcfg::trace::enabled(),
        })?),
        _ => None,
    };
    let joined = match &opts.network {
        NetworkMode::Container(other) => Some(JoinedNet::open(&opts.root, other)?),
        _ => None,
    };

    // 2. The name, the state dir, the overlay's dirs.
    let store = Store::new(&opts.root);
    let hostname = joined
        .as_ref()
        .map_or_else(|| opts.hostname(&id), |j| j.hostname().to_owned());
    let mut record = Container {
        id: id.clone(),
        name,
        image: opts.image.clone(),
        image_id: image.id.clone(),
        command: args.clone(),
        env: opts.env(&image.config, &hostname),
        hostname,
        network_mode: opts.network.to_string(),
        created: state::now_secs(),
        status: Status::Created,
        pid: None,
        pid_start: None,
        supervisor: state::start_time(std::process::id() as i32)
            .map(|t| (std::process::id() as i32, t)),
        exit_code: None,
        started_at: None,
        finished_at: None,
        auto_remove: opts.rm,
        network: None,
    };
    let reservation = store.create(&record)?;
    let dir = store.dir(&id);
    let overlay = Overlay {
        lower: image.layers.clone(),
        upper: dir.join("upper"),
        work: dir.join("work"),
    };
    let rootfs = dir.join("rootfs");
    for d in [&overlay.upper, &overlay.work, &rootfs] {
        fs::create_dir(d).map_err(|source| RunError::Io {
            what: "creating",
            path: d.clone(),
            source,
        })?;
    }
    etc::prepare(&dir, &record.hostname).map_err(|source| RunError::Io {
        what: "writing /etc files in",
        path: dir.clone(),
        source,
    })?;
    let spec = spec::build(&SpecInputs {
        rootfs,
        args,
        env: record.env.clone(),
        cwd: opts.workdir(&image.config),
        user: opts.user.clone().or_else(|| image.config.user.clone()),
        hostname: record.hostname.clone(),
        terminal: opts.tty,
        net: joined
            .as_ref()
            .map_or_else(|| opts.network.netns(), JoinedNet::netns),
        etc_files: joined
            .as_ref()
            .map_or_else(|| etc::paths(&dir), JoinedNet::etc_files),
        lower_layers: image.layers.clone(),
    })?;
    crate::exec::save_spec(&dir, &spec).map_err(|source| RunError::Io {
        what: "writing the OCI spec in",
        path: dir.clone(),
        source,
    })?;

    // 3. Clone the child into its namespaces; it waits for step 6.
    let child = process::spawn(&Launch {
        spec: &spec,
        overlay: Some(overlay),
        stdin: opts.interactive,
        stdout: None,
        stderr: None,
    })?;

    // 4. Attach its network namespace.
    let mut net = NetGuard::new(&opts.root);
    if let Some(plan) = plan {
        record.network = Some(net.attach(plan, child.pid())?);
    } else if opts.network == NetworkMode::None {
        net.loopback_only(child.pid())?;
    }

    // 5. The container's /etc files (a joined network's are the other container's).
    if joined.is_none() {
        etc::write(
            &dir,
            &record.hostname,
            record.network.as_ref(),
            matches!(opts.network, NetworkMode::Host),
        )
        .map_err(|source| RunError::Io {
            what: "writing /etc files in",
            path: dir.clone(),
            source,
        })?;
    }
    if let Some(att) = &record.network {
        crate::hosts::refresh(&opts.root, &att.network)?;
    }

    // 6. Release the child.
    let running = child.start()?;
    record.status = Status::Running;
    record.pid = Some(running.pid());
    record.pid_start = state::start_time(running.pid());
    record.started_at = Some(state::now_secs());
    store.save(&record)?;
    reservation.commit();

    // 7. Wait, then tear down.
    let exit = running.wait();
    let teardown = net.detach();
    if let Some(att) = &record.network {
        if let Err(e) = crate::hosts::refresh(&opts.root, &att.network) {
            eprintln!("den: {e}");
        }
    }
    record.status = Status::Exited;
    record.finished_at = Some(state::now_secs());
    let status = match &exit {
        Ok(Exit::Code(c)) => *c,
        Ok(Exit::Signal(s)) => 128 + s,
        Err(_) => 125,
    };
    record.exit_code = Some(status);
    // `den rm -f` from another shell may have removed the container already.
    let removed = matches!(store.load_id(&id), Err(StateError::NotFound(_)));
    if opts.rm {
        store.remove(&record)?;
    } else if !removed {
        store.save(&record)?;
    }
    if let Err(e) = teardown {
        eprintln!("den: {e}");
    }
    exit?;
    Ok(status)
}
