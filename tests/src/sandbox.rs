//! A sandbox: two fresh network namespaces joined by a veth, a private state dir for den,
//! and a record of every process it started. Drop tears all of it down, also on panic.
//!
//! ```text
//! host netns  <name>-host                  outside netns  <name>-out
//!   dt-up 10.250.0.1/24  <---- veth ---->   eth0 10.250.0.2/24
//!   default via 10.250.0.2
//! ```

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::bin::den_bin;
use crate::exec::{self, Capture, Output, CMD_TIMEOUT};
use crate::netns;
use crate::procs::{self, ProcId};
use crate::spawn::{Kind, Proc, Tracked};

/// The host netns's address on the link to the outside netns.
pub const HOST_ADDR: &str = "10.250.0.1";
/// The outside netns's address.
pub const OUT_ADDR: &str = "10.250.0.2";
/// The host netns's end of the link to the outside netns.
pub const HOST_IF: &str = "dt-up";

static COUNTER: AtomicU32 = AtomicU32::new(0);
static SWEPT: OnceLock<()> = OnceLock::new();

/// See the module docs.
#[derive(Debug)]
pub struct Sandbox {
    pub(crate) name: String,
    pub(crate) host: String,
    pub(crate) out: String,
    pub(crate) host_made: bool,
    pub(crate) out_made: bool,
    pub(crate) dir: PathBuf,
    pub(crate) dir_made: bool,
    root: PathBuf,
    scratch: PathBuf,
    pub(crate) procs: Mutex<Vec<Arc<Tracked>>>,
    seq: AtomicU32,
}

impl Sandbox {
    /// Creates the namespaces, the link and the dirs; panics (after undoing them) on failure.
    pub fn new() -> Sandbox {
        let tmp = std::env::temp_dir();
        // Every Sandbox::new passes here first and waits for it: no sandbox of this process
        // exists yet while the sweep runs, so it may remove names carrying our pid.
        SWEPT.get_or_init(|| {
            for what in netns::sweep_stale(&tmp, true) {
                eprintln!("den-tests: removed stale {what}");
            }
        });
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("den-t{}-{n}", std::process::id());
        let dir = tmp.join(format!("{name}.sb"));
        // Built first so that Drop undoes whatever a failing step below leaves.
        let mut sb = Sandbox {
            host: format!("{name}-host"),
            out: format!("{name}-out"),
            name,
            host_made: false,
            out_made: false,
            root: dir.join("root"),
            scratch: dir.join("scratch"),
            dir,
            dir_made: false,
            procs: Mutex::new(Vec::new()),
            seq: AtomicU32::new(0),
        };
        fs::create_dir(&sb.dir).unwrap_or_else(|e| panic!("create {}: {e}", sb.dir.display()));
        sb.dir_made = true;
        for d in [&sb.root, &sb.scratch] {
            fs::create_dir(d).unwrap_or_else(|e| panic!("create {}: {e}", d.display()));
        }
        netns::add(&sb.host).unwrap_or_else(|e| panic!("{e}"));
        sb.host_made = true;
        netns::add(&sb.out).unwrap_or_else(|e| panic!("{e}"));
        sb.out_made = true;
        let host_script = format!(
            "link add {HOST_IF} type veth peer name eth0 netns {out}\n\
             addr add {HOST_ADDR}/24 dev {HOST_IF}\n\
             link set {HOST_IF} up\n\
             link set lo up\n\
             route add default via {OUT_ADDR}\n",
            out = sb.out
        );
        netns::batch(&sb.host, &host_script).unwrap_or_else(|e| panic!("{e}"));
        let out_script =
            format!("addr add {OUT_ADDR}/24 dev eth0\nlink set eth0 up\nlink set lo up\n");
        netns::batch(&sb.out, &out_script).unwrap_or_else(|e| panic!("{e}"));
        sb
    }

    /// The sandbox's unique name (`den-t<pid>-<n>`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The host netns's name (den runs here).
    pub fn host_ns(&self) -> &str {
        &self.host
    }

    /// The outside netns's name.
    pub fn out_ns(&self) -> &str {
        &self.out
    }

    /// `/run/netns/<host>`.
    pub fn host_ns_path(&self) -> PathBuf {
        netns::path(&self.host)
    }

    /// `/run/netns/<out>`.
    pub fn out_ns_path(&self) -> PathBuf {
        netns::path(&self.out)
    }

    /// den's state dir (`--root`).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A scratch dir for the test's own files; removed with the sandbox.
    pub fn scratch(&self) -> &Path {
        &self.scratch
    }

    pub(crate) fn capture(&self, stem: &str) -> Capture {
        let n = self.seq.fetch_add(1, Ordering::SeqCst);
        Capture::new(&self.scratch, &format!("{n:03}-{stem}"))
    }

    fn den_cmd<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net={}", self.host_ns_path().display()))
            .arg("--")
            .env("DEN_CGROUP_PARENT", crate::cgroups::parent(&self.name))
            .arg(den_bin())
            .arg("--root")
            .arg(&self.root)
            .args(args);
        cmd
    }

    /// `sh -c SCRIPT` in netns `ns`; a den that the script starts puts its containers' cgroups
    /// under the sandbox's parent, as [`Sandbox::den`] does.
    fn sh_cmd(&self, ns: &Path, script: &str) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net={}", ns.display()))
            .env("DEN_CGROUP_PARENT", crate::cgroups::parent(&self.name))
            .args(["--", "sh", "-c", script]);
        cmd
    }

    /// Runs `den --root <root> ARGS` in the host netns to completion (killed after 60 s).
    pub fn den<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        exec::run(&mut self.den_cmd(args), &self.capture("den"), CMD_TIMEOUT)
    }

    /// [`Sandbox::den`] with `env` set for den (e.g. a switch only tests use).
    pub fn den_with_env<S: AsRef<OsStr>>(&self, env: &[(&str, &str)], args: &[S]) -> Output {
        let mut cmd = self.den_cmd(args);
        cmd.envs(env.iter().copied());
        exec::run(&mut cmd, &self.capture("den"), CMD_TIMEOUT)
    }

    /// [`Sandbox::den_spawn`] with `env` set for den.
    pub fn den_spawn_with_env<S: AsRef<OsStr>>(&self, env: &[(&str, &str)], args: &[S]) -> Proc {
        let mut cmd = self.den_cmd(args);
        cmd.envs(env.iter().copied());
        self.spawn(cmd, "den", Kind::Den)
    }

    /// Starts `den --root <root> ARGS` in the host netns in the background.
    pub fn den_spawn<S: AsRef<OsStr>>(&self, args: &[S]) -> Proc {
        self.spawn(self.den_cmd(args), "den", Kind::Den)
    }

    /// Runs the shell command `script` in the host netns.
    pub fn host(&self, script: &str) -> Output {
        let mut cmd = self.sh_cmd(&self.host_ns_path(), script);
        exec::run(&mut cmd, &self.capture("host"), CMD_TIMEOUT)
    }

    /// Runs the shell command `script` in the outside netns.
    pub fn outside(&self, script: &str) -> Output {
        let mut cmd = self.sh_cmd(&self.out_ns_path(), script);
        exec::run(&mut cmd, &self.capture("outside"), CMD_TIMEOUT)
    }

    /// Starts the shell command `script` in the host netns in the background.
    pub fn host_spawn(&self, script: &str) -> Proc {
        self.spawn(
            self.sh_cmd(&self.host_ns_path(), script),
            "host",
            Kind::Plain,
        )
    }

    /// Starts the shell command `script` in the outside netns in the background.
    pub fn outside_spawn(&self, script: &str) -> Proc {
        self.spawn(
            self.sh_cmd(&self.out_ns_path(), script),
            "outside",
            Kind::Plain,
        )
    }

    pub(crate) fn spawn_tracked(&self, cmd: Command, stem: &str, kind: Kind) -> Proc {
        self.spawn(cmd, stem, kind)
    }

    fn spawn(&self, mut cmd: Command, stem: &str, kind: Kind) -> Proc {
        let capture = self.capture(stem);
        let what = exec::describe(&cmd);
        let mut procs = self.procs.lock().unwrap_or_else(|p| p.into_inner());
        let child = capture.spawn(&mut cmd);
        let tracked = Arc::new(Tracked {
            pid: child.id(),
            child: Mutex::new(child),
            kind,
            capture,
            what,
        });
        procs.push(tracked.clone());
        Proc { inner: tracked }
    }

    /// The live processes that belong to this sandbox: everything in its two namespaces,
    /// everything whose mounts lie under its dir (containers), and descendants of what it
    /// spawned.
    pub fn members(&self) -> Vec<ProcId> {
        let inos: Vec<u64> = [self.host_ns_path(), self.out_ns_path()]
            .iter()
            .filter_map(|p| procs::ns_inode(p))
            .collect();
        let roots: Vec<i32> = self
            .procs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|t| t.try_exit().is_none())
            .map(|t| t.pid as i32)
            .collect();
        procs::sandbox_members(&inos, &self.dir_needle(), &roots)
    }

    pub(crate) fn dir_needle(&self) -> String {
        format!("{}/", self.dir.display())
    }

    /// Sends `sig` to `pid` (e.g. a container's pid from `den inspect`), after checking that
    /// it is one of this sandbox's processes. Panics otherwise.
    pub fn kill_member(&self, pid: u32, sig: i32) {
        let p = self.member(pid);
        assert!(p.signal(sig), "pid {pid} exited before signal {sig}");
    }

    fn member(&self, pid: u32) -> ProcId {
        let members = self.members();
        *members
            .iter()
            .find(|p| p.pid == pid as i32)
            .unwrap_or_else(|| panic!("pid {pid} is not a process of sandbox {}", self.name))
    }

    /// `/proc/PID/root/REL`: a path inside a container's root filesystem, seen from here.
    /// Panics unless `pid` belongs to the sandbox and its root is not this machine's `/`
    /// (before pivot_root it still is: writing there would touch the real root).
    pub fn container_path(&self, pid: u32, rel: &str) -> PathBuf {
        self.member(pid);
        let root = PathBuf::from(format!("/proc/{pid}/root"));
        let theirs = fs::metadata(&root).unwrap_or_else(|e| panic!("{}: {e}", root.display()));
        let ours = fs::metadata("/").expect("stat /");
        assert!(
            (theirs.dev(), theirs.ino()) != (ours.dev(), ours.ino()),
            "pid {pid} still has the machine's / as its root"
        );
        root.join(rel.trim_start_matches('/'))
    }

    /// Writes `content` to `rel` inside the container `pid` (atomically, via a rename).
    pub fn write_in_container(&self, pid: u32, rel: &str, content: &str) {
        let dest = self.container_path(pid, rel);
        let tmp = dest.with_extension("den-tests-tmp");
        fs::write(&tmp, content).unwrap_or_else(|e| panic!("write {}: {e}", tmp.display()));
        fs::rename(&tmp, &dest).unwrap_or_else(|e| panic!("rename to {}: {e}", dest.display()));
    }
}

impl Default for Sandbox {
    fn default() -> Self {
        Sandbox::new()
    }
}

/// Lines of this process's mount table that mention `needle`.
pub fn mounts_mentioning(needle: &str) -> Vec<String> {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_string)
        .collect()
}
