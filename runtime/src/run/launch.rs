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
use crate::process::{self, Launch, Overlay, Running};
use crate::spec::{self, SpecInputs};
use crate::state::{self, Container, Reservation, Status, Store};
use crate::volume;

/// Where the container's stdout and stderr go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Output {
    /// den's own (foreground `den run`).
    Inherit,
    /// Pipes whose read ends the supervisor relays to the log in the container's dir (detached).
    LogPipes,
}

/// A container whose command runs, with what its end needs (step 7).
pub(crate) struct Started {
    pub store: Store,
    pub record: Container,
    pub running: Running,
    pub net: NetGuard,
    pub cgroup: cgroups::Cgroup,
    /// With `--rm`: the container's mount namespace, held (see [`hold_mounts`]).
    pub mounts_held: Option<OwnedFd>,
    /// With [`Output::LogPipes`]: the read ends of the container's stdout and stderr.
    pub logs: Option<(OwnedFd, OwnedFd)>,
}

/// This process, as the one that waits for the container and tears it down.
fn supervisor_of_this_process() -> Option<(i32, u64)> {
    let me = std::process::id() as i32;
    state::start_time(me).map(|t| (me, t))
}

/// Step 2 for a new container: reserve the name, create its dir and the overlay's dirs.
fn create(
    store: &Store,
    v: &Validated,
) -> Result<(Container, Option<Reservation>, Option<CidFile>), RunError> {
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
        connected: Vec::new(),
        pending_networks: Vec::new(),
        aliases: match v.extra.aliases.is_empty() {
            true => Default::default(),
            false => [(v.network.to_string(), v.extra.aliases.clone())].into(),
        },
        labels: v.extra.labels.clone(),
        exposed_ports: v.extra.exposed.clone(),
        life: v.life.clone(),
    };
    let reservation = store.create(&record)?;
    let dir = store.dir(&v.id);
    for d in ["upper", "work", "rootfs"] {
        let path = dir.join(d);
        fs::create_dir(&path).map_err(RunError::io("creating", path))?;
    }
    v.saved.save(&dir)?;
    // `--cidfile`, as docker writes it: once the container exists (removed with the rest if
    // the run fails before it starts).
    let cidfile = match &v.extra.cidfile {
        Some(path) => Some(CidFile::write(path, &v.id)?),
        None => None,
    };
    Ok((record, Some(reservation), cidfile))
}

/// `den create`: step 2 alone (the name, the dirs, its volumes made and seeded); the record says
/// "created" and names no process, which `den gc` takes as a container at rest.
pub(crate) fn create_only(v: Validated) -> Result<String, RunError> {
    let store = Store::new(&v.root);
    let (mut record, reservation, cidfile) = create(&store, &v)?;
    let dir = store.dir(&v.id);
    let mounts = volume::prepare(&v.root, &dir, v.mounts.clone())?;
    volume::seed(
        &v.image.layers,
        &dir.join("upper"),
        &dir.join("rootfs"),
        &mounts.mounts,
    )?;
    record.supervisor = None;
    store.save(&record)?;
    crate::events::emit(&v.root, crate::events::Event::container(&record, "create"));
    if let Some(r) = reservation {
        r.commit();
    }
    mounts.commit();
    if let Some(c) = cidfile {
        c.commit();
    }
    Ok(record.id)
}

/// Step 2 for `den start`: the container's name, dir and upper dir are reused as they are. Its record
/// on disk keeps saying "exited" until step 6, so a failure leaves nothing to undo.
fn reuse(old: &Container) -> (Container, Option<Reservation>, Option<CidFile>) {
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
    record.connected = Vec::new();
    record.pending_networks = Vec::new();
    record.life.paused = false;
    (record, None, None)
}

/// A pipe for one of the container's output streams: (read end, write end), close-on-exec.
fn log_pipe(dir: &Path) -> Result<(OwnedFd, OwnedFd), RunError> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| RunError::io("making the log pipes of", dir.to_path_buf())(e.into()))
}

/// Steps 2-6; returns once the container's command has been exec'd.
pub(crate) fn launch(v: Validated, output: Output) -> Result<Started, RunError> {
    // 2. The name, the state dir, the overlay's dirs (or, for `start`, the container's own).
    let store = Store::new(&v.root);
    let (mut record, reservation, cidfile) = match &v.existing {
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
    let device_control = planned_cgroup.device_control();
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
    if v.life.init {
        super::init::apply(&mut spec)?;
    }
    den_netcfg::trace::step(|| "# spec built (capabilities, seccomp profile resolved)".into());
    // The cgroup (its dirs listed first, for gc), with its limits and device rules.
    planned_cgroup.save(&dir)?;
    let cgroup =
        planned_cgroup.create(spec.linux().as_ref().and_then(|l| l.resources().as_ref()))?;
    den_netcfg::trace::step(|| "# cgroup made, limits and device rules written".into());
    // `den exec` reads the container's process settings from it.
    crate::exec::save_spec(&dir, &spec)
        .map_err(RunError::io("writing the OCI spec in", dir.clone()))?;
    let (logs, log_out, log_err) = match output {
        Output::Inherit => (None, None, None),
        Output::LogPipes => {
            let (out_r, out_w) = log_pipe(&dir)?;
            let (err_r, err_w) = log_pipe(&dir)?;
            (Some((out_r, err_r)), Some(out_w), Some(err_w))
        }
    };

    // 3. Clone the child into its namespaces and its cgroup (it moves itself in before it reports
    // Ready, so before it can exec or fork); it builds its root while steps 4-5 run here, then
    // waits for step 6.
    let cgroup_entries = cgroup.entries()?;
    den_netcfg::trace::step(|| format!("# state dir {} ready, spec built", dir.display()));
    let child = process::spawn(&Launch {
        spec: &spec,
        overlay: Some(overlay),
        stdin: v.interactive,
        stdout: log_out,
        stderr: log_err,
        seccomp_cache: Some(v.root.join("cache").join("seccomp")),
        rootfs_nodev: !device_control,
        cgroup: &cgroup_entries,
        gate: None,
    })?;
    drop(cgroup_entries);
    // Recorded at once (still "created"): from here on a killed den leaves a pid gc can check. Before
    // this save the child is still waiting for step 6, and exits by itself if den dies.
    record.pid = Some(child.pid());
    record.pid_start = state::start_time(child.pid());
    store.save(&record)?;
    let mounts_held = match v.auto_remove {
        true => hold_mounts(child.pid()),
        false => None,
    };
    crate::fault::point("after-clone");

    den_netcfg::trace::step(|| {
        format!(
            "# cloned container PID 1 as host pid {} (new pid/mnt/uts/ipc/net namespaces)",
            child.pid()
        )
    });
    // 4. Attach its network namespace (`--network none`: nothing; the child brings up `lo` of its
    // new namespace itself, as runc does).
    let mut net = NetGuard::new(&v.root);
    if let Some(plan) = v.plan {
        record.network = Some(net.attach(plan, child.pid())?);
        for plan in v.connect_plans {
            record.connected.push(net.attach_more(plan, child.pid())?);
        }
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
            &v.saved.etc,
        )
        .map_err(RunError::io("writing /etc files in", dir.clone()))?;
    }
    for att in record.attachments() {
        hosts::refresh(&v.root, &att.network)?;
    }

    // 6. Release the child; from its exec on, the record says it runs.
    den_netcfg::trace::step(|| {
        "# /etc/hostname, /etc/hosts, /etc/resolv.conf written; releasing the child".into()
    });
    let running = child.start()?;
    den_netcfg::trace::step(|| {
        "# child (its overlay mounted and pivoted meanwhile) dropped privileges and exec'd".into()
    });
    record.status = Status::Running;
    record.pid = Some(running.pid());
    record.pid_start = state::start_time(running.pid());
    record.started_at = Some(state::now_secs());
    store.save(&record)?;
    crate::events::started(store.root(), &record, reservation.is_some(), &mounts.mounts);
    if let Some(r) = reservation {
        r.commit();
    }
    if let Some(c) = cidfile {
        c.commit();
    }
    mounts.commit();
    crate::fault::point("after-start");
    Ok(Started {
        store,
        record,
        running,
        net,
        cgroup,
        mounts_held,
        logs,
    })
}

/// An fd of the mount namespace of `pid`. While it is open, the exit of the namespace's last
/// process does not tear its mounts down: the last close does, and that waits for an RCU grace
/// period (`namespace_unlock`), milliseconds a run. `--rm`'s teardown keeps it open until after the
/// helper that removes the container's files has been forked (run/unplug.rs), which inherits it
/// and releases it after den returned. The mounts are the container's own (its private namespace):
/// nothing outside it sees them in the meantime. Only a speed-up: a PID 1 that already failed while
/// building its root (it does so before Go) has no namespace left to hold, and `start` then
/// reports the child's own failure, which names its culprit.
fn hold_mounts(pid: i32) -> Option<OwnedFd> {
    fs::File::open(format!("/proc/{pid}/ns/mnt"))
        .ok()
        .map(OwnedFd::from)
}

/// Where no device control can be had (v1 without the devices controller and no cgroup2
/// hierarchy for the eBPF device program) den fails closed; said once per state root.
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

/// `--cidfile`'s file, removed on drop unless the container started.
struct CidFile {
    path: std::path::PathBuf,
    armed: bool,
}

impl CidFile {
    /// Write `id` to `path`, which must not exist (checked in step 1; `create_new` makes it atomic).
    fn write(path: &Path, id: &str) -> Result<CidFile, RunError> {
        use std::io::Write;
        let exists = || RunError::CidFileExists(path.to_path_buf());
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(path)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => exists(),
                _ => RunError::Io {
                    what: "writing the --cidfile",
                    path: path.to_path_buf(),
                    source: e,
                },
            })?;
        let guard = CidFile {
            path: path.to_path_buf(),
            armed: true,
        };
        f.write_all(id.as_bytes())
            .map_err(RunError::io("writing the --cidfile", path.to_path_buf()))?;
        Ok(guard)
    }

    fn commit(mut self) {
        self.armed = false;
    }
}

impl Drop for CidFile {
    fn drop(&mut self) {
        if self.armed {
            let _ = fs::remove_file(&self.path);
        }
    }
}
