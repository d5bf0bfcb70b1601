//! Steps 2 to 6: the state dir, the clone, the network, the /etc files, the start. Each step that
//! makes something holds a guard that undoes it if a later step fails.

use std::fs::{self, OpenOptions};
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::netguard::NetGuard;
use super::netjoin::JoinedNet;
use super::validate::Validated;
use super::{etc, NetworkMode, RunError};
use crate::cgroups;
use crate::hosts;
use crate::logs;
use crate::process::{self, Launch, Overlay, Running};
use crate::spec::{self, SpecInputs};
use crate::state::{self, Container, Reservation, Status, Store};
use crate::volume;

/// Where the container's stdout and stderr go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Output {
    /// den's own (foreground `den run`).
    Inherit,
    /// The log file in the container's dir (detached), appended to across `den start`s.
    LogFile,
}

/// A container whose command runs, with what its end needs (step 7).
pub(crate) struct Started {
    pub store: Store,
    pub record: Container,
    pub running: Running,
    pub net: NetGuard,
    pub cgroup: cgroups::Cgroup,
}

/// This process, as the one that waits for the container and tears it down.
fn supervisor_of_this_process() -> Option<(i32, u64)> {
    let me = std::process::id() as i32;
    state::start_time(me).map(|t| (me, t))
}

/// Step 2 for a new container: reserve the name, create its dir and the overlay's dirs.
fn create(store: &Store, v: &Validated) -> Result<(Container, Option<Reservation>), RunError> {
    let record = Container {
        id: v.id.clone(),
        name: v.name.clone(),
        image: v.image_ref.clone(),
        image_id: v.image.id.clone(),
        command: v.args.clone(),
        env: v.env.clone(),
        hostname: v.hostname.clone(),
        network_mode: v.network.to_string(),
        created: state::now_secs(),
        status: Status::Created,
        pid: None,
        pid_start: None,
        supervisor: supervisor_of_this_process(),
        exit_code: None,
        oom_killed: false,
        started_at: None,
        finished_at: None,
        auto_remove: v.auto_remove,
        network: None,
    };
    let reservation = store.create(&record)?;
    let dir = store.dir(&v.id);
    for d in ["upper", "work", "rootfs"] {
        let path = dir.join(d);
        fs::create_dir(&path).map_err(RunError::io("creating", path))?;
    }
    v.saved.save(&dir)?;
    Ok((record, Some(reservation)))
}

/// Step 2 for `den start`: the container's name, dir and upper dir are reused as they are. Its record
/// on disk keeps saying "exited" until step 6, so a failure leaves nothing to undo.
fn reuse(old: &Container) -> (Container, Option<Reservation>) {
    let mut record = old.clone();
    record.status = Status::Created;
    record.pid = None;
    record.pid_start = None;
    record.supervisor = supervisor_of_this_process();
    record.exit_code = None;
    record.oom_killed = false;
    record.started_at = None;
    record.finished_at = None;
    record.network = None;
    (record, None)
}

fn log_file(dir: &Path) -> Result<OwnedFd, RunError> {
    let path = logs::path(dir);
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .open(&path)
        .map(OwnedFd::from)
        .map_err(RunError::io("opening", path))
}

/// Steps 2-6; returns once the container's command has been exec'd.
pub(crate) fn launch(v: Validated, output: Output) -> Result<Started, RunError> {
    // 2. The name, the state dir, the overlay's dirs (or, for `start`, the container's own).
    let store = Store::new(&v.root);
    let (mut record, reservation) = match &v.existing {
        None => create(&store, &v)?,
        Some(old) => reuse(old),
    };
    let dir = store.dir(&v.id);
    let overlay = Overlay {
        lower: v.image.layers.clone(),
        upper: dir.join("upper"),
        work: dir.join("work"),
    };
    etc::prepare(&dir, &record.hostname)
        .map_err(RunError::io("writing /etc files in", dir.clone()))?;
    // Its volumes (made on first use, seeded from the image while empty) and `-v` host dirs.
    let mounts = volume::prepare(&v.root, &dir, v.mounts.clone())?;
    volume::seed(
        &v.image.layers,
        &overlay.upper,
        &dir.join("rootfs"),
        &mounts.mounts,
    )?;
    crate::fault::point("after-state");
    let cgroups_path = cgroups_path(&v.saved.host.cgroup_parent, &v.id);
    let planned_cgroup = cgroups::Planned::new(&cgroups::Layout::detect()?, &cgroups_path)?;
    let device_control = planned_cgroup.devices.is_some();
    if !device_control {
        warn_once(&v.root);
    }
    let mut spec = spec::build(&SpecInputs {
        rootfs: dir.join("rootfs"),
        args: v.args.clone(),
        env: v.env.clone(),
        cwd: v.saved.cwd.clone(),
        user: v.saved.user.clone(),
        hostname: record.hostname.clone(),
        terminal: v.tty,
        net: v
            .joined
            .as_ref()
            .map_or_else(|| v.network.netns(), JoinedNet::netns),
        etc_files: v
            .joined
            .as_ref()
            .map_or_else(|| etc::paths(&dir), JoinedNet::etc_files),
        lower_layers: v.image.layers.clone(),
        security: spec::Security {
            host: v.saved.host.clone(),
            cgroups_path: Some(cgroups_path),
            device_control,
        },
    })?;
    volume::apply_to_spec(&mut spec, &mounts.mounts).map_err(|source| spec::SpecError::Build {
        what: "mounts",
        source,
    })?;
    den_netcfg::trace::step(|| "# spec built (capabilities, seccomp profile resolved)".into());
    // The cgroup (its dirs listed first, for gc), with its limits and device rules.
    planned_cgroup.save(&dir)?;
    let cgroup =
        planned_cgroup.create(spec.linux().as_ref().and_then(|l| l.resources().as_ref()))?;
    den_netcfg::trace::step(|| "# cgroup made, limits and device rules written".into());
    // `den exec` reads the container's process settings from it.
    crate::exec::save_spec(&dir, &spec)
        .map_err(RunError::io("writing the OCI spec in", dir.clone()))?;
    let log = match output {
        Output::Inherit => None,
        Output::LogFile => Some(log_file(&dir)?),
    };
    let log_err = log
        .as_ref()
        .map(|f| f.try_clone())
        .transpose()
        .map_err(RunError::io("duplicating the log fd of", dir.clone()))?;

    // 3. Clone the child into its namespaces; it waits for step 6.
    den_netcfg::trace::step(|| format!("# state dir {} ready, spec built", dir.display()));
    let child = process::spawn(&Launch {
        spec: &spec,
        overlay: Some(overlay),
        stdin: v.interactive,
        stdout: log,
        stderr: log_err,
        seccomp_cache: Some(v.root.join("cache").join("seccomp")),
        rootfs_nodev: !device_control,
        gate: None,
    })?;
    // Recorded at once (still "created"): from here on a killed den leaves a pid gc can check. Before
    // this save the child is still waiting for step 6, and exits by itself if den dies.
    record.pid = Some(child.pid());
    record.pid_start = state::start_time(child.pid());
    store.save(&record)?;
    // Into its cgroup before it can exec (or fork).
    cgroup.add(child.pid())?;
    crate::fault::point("after-clone");

    den_netcfg::trace::step(|| {
        format!(
            "# cloned container PID 1 as host pid {} (new pid/mnt/uts/ipc/net namespaces)",
            child.pid()
        )
    });
    // 4. Attach its network namespace.
    let mut net = NetGuard::new(&v.root);
    if let Some(plan) = v.plan {
        record.network = Some(net.attach(plan, child.pid())?);
    } else if v.network == NetworkMode::None {
        net.loopback_only(child.pid())?;
    } else if let NetworkMode::Lab(mode) = v.network {
        net.lab(mode, child.pid(), &record.id)?;
    }

    // 5. The container's /etc files (a joined network's are the other container's); on a user
    // network, every member's /etc/hosts now lists this container too.
    if v.joined.is_none() {
        let host_network = v.network == NetworkMode::Host;
        etc::write(
            &dir,
            &record.hostname,
            record.network.as_ref(),
            host_network,
        )
        .map_err(RunError::io("writing /etc files in", dir.clone()))?;
    }
    if let Some(att) = &record.network {
        hosts::refresh(&v.root, &att.network)?;
    }

    // 6. Release the child; from its exec on, the record says it runs.
    den_netcfg::trace::step(|| {
        "# /etc/hostname, /etc/hosts, /etc/resolv.conf written; releasing the child".into()
    });
    let running = child.start()?;
    den_netcfg::trace::step(|| {
        "# child mounted its overlay, pivoted, dropped privileges and exec'd".into()
    });
    record.status = Status::Running;
    record.pid = Some(running.pid());
    record.pid_start = state::start_time(running.pid());
    record.started_at = Some(state::now_secs());
    store.save(&record)?;
    if let Some(r) = reservation {
        r.commit();
    }
    mounts.commit();
    crate::fault::point("after-start");
    Ok(Started {
        store,
        record,
        running,
        net,
        cgroup,
    })
}

/// Where no device cgroup exists (v1 without the devices controller; v2, whose eBPF device
/// program den does not load yet) den fails closed; said once per state root.
fn warn_once(root: &Path) {
    let marker = root.join("cache").join("warned-no-device-control");
    if marker.exists() {
        return;
    }
    eprintln!(
        "den: warning: no device cgroup here: containers get no CAP_MKNOD and a nodev root filesystem"
    );
    let _ = fs::create_dir_all(root.join("cache")).and_then(|()| fs::write(&marker, b""));
}

/// The container's cgroup below `parent` (`--cgroup-parent`; den's default `den`, relative to
/// den's own cgroup), named for its owner.
fn cgroups_path(parent: &str, id: &str) -> String {
    let parent = if parent.is_empty() { "den" } else { parent };
    format!("{}/{}", parent.trim_end_matches('/'), cgroups::dir_name(id))
}
