//! A busybox rootfs in a temp dir, and helpers to run a container on it with its stdout in a
//! pipe.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use den_runtime::process::{spawn, Exit, Launch, Overlay};
use den_runtime::spec::{build, NetNs, SpecInputs};
use oci_spec::runtime::{Capabilities, Capability, Spec};

const APPLETS: [&str; 19] = [
    "sh", "ls", "cat", "hostname", "ps", "mount", "sleep", "echo", "ip", "grep", "id", "test",
    "tty", "wc", "readlink", "pwd", "true", "kill", "stat",
];

pub struct Fixture {
    pub dir: PathBuf,
    pub lower: PathBuf,
    pub upper: PathBuf,
    pub work: PathBuf,
    pub rootfs: PathBuf,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn mkdirs(base: &Path, dirs: &[&str]) {
    for d in dirs {
        std::fs::create_dir_all(base.join(d)).expect("mkdir");
    }
}

pub fn fixture() -> Fixture {
    assert!(nix::unistd::geteuid().is_root(), "these tests need root");
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "den-process-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let fx = Fixture {
        lower: dir.join("lower"),
        upper: dir.join("upper"),
        work: dir.join("work"),
        rootfs: dir.join("rootfs"),
        dir,
    };
    mkdirs(&fx.dir, &["upper", "work", "rootfs"]);
    mkdirs(
        &fx.lower,
        &["bin", "etc", "proc", "sys", "dev", "mnt", "tmp", "root"],
    );
    std::fs::copy("/bin/busybox", fx.lower.join("bin/busybox")).expect("copy busybox");
    for applet in APPLETS {
        std::os::unix::fs::symlink("busybox", fx.lower.join("bin").join(applet)).expect("applet");
    }
    let passwd =
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
    std::fs::write(fx.lower.join("etc/passwd"), passwd).expect("passwd");
    std::fs::write(
        fx.lower.join("etc/group"),
        "root:x:0:\nwheel:x:10:root\nnogroup:x:65534:\n",
    )
    .expect("group");
    fx
}

pub fn inputs(fx: &Fixture, args: &[&str]) -> SpecInputs {
    SpecInputs {
        rootfs: fx.rootfs.clone(),
        args: args.iter().map(|a| a.to_string()).collect(),
        env: vec!["PATH=/bin".into()],
        cwd: String::new(),
        user: None,
        hostname: "den-test".into(),
        terminal: false,
        net: NetNs::New,
        etc_files: Vec::new(),
        lower_layers: vec![fx.lower.clone()],
        security: den_runtime::spec::Security::default(),
    }
}

pub fn launch<'a>(fx: &Fixture, spec: &'a Spec, stdout: Option<OwnedFd>) -> Launch<'a> {
    Launch {
        spec,
        overlay: Some(Overlay {
            lower: vec![fx.lower.clone()],
            upper: fx.upper.clone(),
            work: fx.work.clone(),
        }),
        stdin: false,
        stdout,
        stderr: None,
        seccomp_cache: None,
        rootfs_nodev: false,
        cgroup: &[],
        gate: None,
    }
}

/// Run to completion; the container's stdout as a string.
pub fn run_spec(fx: &Fixture, spec: &Spec) -> (Exit, String) {
    let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe");
    let l = launch(fx, spec, Some(write));
    let running = spawn(&l).expect("spawn").start().expect("start");
    drop(l);
    let exit = running.wait().expect("wait");
    let mut out = String::new();
    std::fs::File::from(read)
        .read_to_string(&mut out)
        .expect("read stdout");
    (exit, out)
}

pub fn run(fx: &Fixture, args: &[&str]) -> (Exit, String) {
    run_spec(fx, &build(&inputs(fx, args)).expect("spec"))
}

pub fn pipe() -> (OwnedFd, OwnedFd) {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe")
}

pub fn read_all(fd: OwnedFd) -> String {
    let mut s = String::new();
    std::fs::File::from(fd)
        .read_to_string(&mut s)
        .expect("read");
    s
}

/// The spec with CAP_SYS_ADMIN added to bounding, effective and permitted.
pub fn with_sys_admin(mut spec: Spec) -> Spec {
    let process = spec.process_mut().as_mut().expect("process");
    let mut caps = process.capabilities().clone().expect("caps");
    let add = |s: &Option<Capabilities>| {
        let mut s = s.clone().unwrap_or_default();
        s.insert(Capability::SysAdmin);
        Some(s)
    };
    caps.set_bounding(add(caps.bounding()));
    caps.set_effective(add(caps.effective()));
    caps.set_permitted(add(caps.permitted()));
    process.set_capabilities(Some(caps));
    // docker's profile allows mount only with CAP_SYS_ADMIN, decided when the spec is built: this
    // spec was built without it, so it goes without the filter (as `--cap-add SYS_ADMIN` would
    // get the profile's CAP_SYS_ADMIN rules).
    if let Some(linux) = spec.linux_mut() {
        linux.set_seccomp(None);
    }
    spec
}
