use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use oci_spec::runtime::{Capability, LinuxNamespaceType, Spec};

use super::*;
use crate::scratch::Scratch;

/// A temporary directory removed on drop.
struct TempDir(Scratch);

impl TempDir {
    fn new() -> TempDir {
        TempDir(Scratch::new("den-spec-test"))
    }
    fn layer(&self, name: &str, passwd: Option<&str>, group: Option<&str>) -> PathBuf {
        let layer = self.0.path().join(name);
        std::fs::create_dir_all(layer.join("etc")).expect("create layer");
        if let Some(p) = passwd {
            std::fs::write(layer.join("etc/passwd"), p).expect("write passwd");
        }
        if let Some(g) = group {
            std::fs::write(layer.join("etc/group"), g).expect("write group");
        }
        layer
    }
}

const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
                      daemon:x:1:1:daemon:/usr/sbin:/bin/false\n\
                      www:x:33:33:www:/var/www:/bin/false\n\
                      nobody:x:65534:65534:nobody:/home:/bin/false\n";
const GROUP: &str = "root:x:0:\nwheel:x:10:root\nadm:x:4:root,daemon\nwww:x:33:\n\
                     nogroup:x:65534:\nstaff:x:50:www\n";

fn inputs(layers: Vec<PathBuf>) -> SpecInputs {
    SpecInputs {
        rootfs: PathBuf::from("/var/lib/den/c1/rootfs"),
        args: vec!["sh".into(), "-c".into(), "echo hi".into()],
        env: vec!["PATH=/bin".into(), "FOO=bar".into()],
        cwd: String::new(),
        user: None,
        hostname: "c1".into(),
        terminal: false,
        net: NetNs::New,
        etc_files: vec![(PathBuf::from("/run/den/c1/hosts"), "/etc/hosts".into())],
        lower_layers: layers,
        security: crate::spec::Security::default(),
    }
}

fn ns_types(spec: &Spec) -> Vec<(LinuxNamespaceType, Option<PathBuf>)> {
    let linux = spec.linux().as_ref().expect("linux section");
    let list = linux.namespaces().as_ref().expect("namespaces");
    list.iter().map(|n| (n.typ(), n.path().clone())).collect()
}

#[test]
fn namespaces_follow_the_network_mode() {
    let t = TempDir::new();
    let l = t.layer("l0", Some(PASSWD), Some(GROUP));
    let mut i = inputs(vec![l]);
    use LinuxNamespaceType::*;
    let spec = build(&i).expect("build");
    assert_eq!(
        ns_types(&spec),
        vec![
            (Pid, None),
            (Mount, None),
            (Uts, None),
            (Ipc, None),
            (Network, None)
        ]
    );
    i.net = NetNs::Host;
    let spec = build(&i).expect("build");
    assert!(!ns_types(&spec).iter().any(|(t, _)| *t == Network));
    i.net = NetNs::Join(PathBuf::from("/proc/42/ns/net"));
    let spec = build(&i).expect("build");
    assert!(ns_types(&spec).contains(&(Network, Some(PathBuf::from("/proc/42/ns/net")))));
}

#[test]
fn capabilities_are_dockers_default_and_map_to_the_kernel_mask() {
    let t = TempDir::new();
    let spec = build(&inputs(vec![t.layer("l0", None, None)])).expect("build");
    let process = spec.process().as_ref().expect("process");
    let caps = process.capabilities().as_ref().expect("caps");
    let want: HashSet<Capability> = DEFAULT_CAPS.iter().copied().collect();
    assert_eq!(caps.bounding().as_ref(), Some(&want));
    assert_eq!(caps.effective().as_ref(), Some(&want));
    assert_eq!(caps.permitted().as_ref(), Some(&want));
    assert!(caps.inheritable().as_ref().is_some_and(|s| s.is_empty()));
    assert!(caps.ambient().as_ref().is_some_and(|s| s.is_empty()));
    let mask: u64 = want
        .iter()
        .map(|c| {
            caps::Capability::from_str(&format!("CAP_{c}"))
                .expect("known cap")
                .bitmask()
        })
        .sum();
    assert_eq!(mask, 0xa80425fb, "docker's CapEff");
    assert_eq!(process.no_new_privileges(), Some(true));
    assert!(process.rlimits().is_none(), "never set rlimits");
}

#[test]
fn mounts_masks_and_devices_are_dockers() {
    let t = TempDir::new();
    let spec = build(&inputs(vec![t.layer("l0", None, None)])).expect("build");
    let mounts = spec.mounts().as_ref().expect("mounts");
    let dests: Vec<&Path> = mounts.iter().map(|m| m.destination().as_path()).collect();
    let want = [
        "/proc",
        "/dev",
        "/dev/pts",
        "/sys",
        "/dev/mqueue",
        "/dev/shm",
        "/etc/hosts",
    ];
    assert_eq!(dests, want.iter().map(Path::new).collect::<Vec<_>>());
    assert!(!dests.contains(&Path::new("/sys/fs/cgroup")));
    let sys = &mounts[3];
    assert_eq!(sys.typ().as_deref(), Some("sysfs"));
    assert!(sys
        .options()
        .as_ref()
        .is_some_and(|o| o.contains(&"ro".to_string())));
    let hosts = &mounts[6];
    assert_eq!(
        hosts.source().as_deref(),
        Some(Path::new("/run/den/c1/hosts"))
    );
    assert!(hosts
        .options()
        .as_ref()
        .is_some_and(|o| o.contains(&"rbind".to_string())));

    let linux = spec.linux().as_ref().expect("linux");
    let masked = linux.masked_paths().as_ref().expect("masked");
    assert!(masked.contains(&"/proc/kcore".to_string()));
    assert!(masked.contains(&"/sys/devices/virtual/powercap".to_string()));
    assert_eq!(masked.len(), 11);
    let ro = linux.readonly_paths().as_ref().expect("readonly");
    assert!(ro.contains(&"/proc/sys".to_string()));
    let devs: Vec<String> = linux
        .devices()
        .as_ref()
        .expect("devices")
        .iter()
        .map(|d| format!("{} {}:{}", d.path().display(), d.major(), d.minor()))
        .collect();
    assert_eq!(
        devs,
        [
            "/dev/null 1:3",
            "/dev/zero 1:5",
            "/dev/full 1:7",
            "/dev/random 1:8",
            "/dev/urandom 1:9",
            "/dev/tty 5:0"
        ]
    );
    assert!(linux.resources().is_none());
    assert_eq!(spec.hostname().as_deref(), Some("c1"));
    assert_eq!(
        spec.root().as_ref().map(|r| r.path().clone()),
        Some(PathBuf::from("/var/lib/den/c1/rootfs"))
    );
}

#[test]
fn environment_has_docker_defaults_under_the_containers_own() {
    let t = TempDir::new();
    let mut i = inputs(vec![t.layer("l0", Some(PASSWD), Some(GROUP))]);
    i.terminal = true;
    let spec = build(&i).expect("build");
    let env = spec
        .process()
        .as_ref()
        .and_then(|p| p.env().clone())
        .expect("env");
    assert_eq!(
        env,
        [
            "PATH=/bin",
            "HOSTNAME=c1",
            "TERM=xterm",
            "FOO=bar",
            "HOME=/root"
        ]
    );
    i.env = vec![];
    i.terminal = false;
    let env = build(&i)
        .expect("build")
        .process()
        .as_ref()
        .and_then(|p| p.env().clone());
    assert_eq!(env.expect("env")[0], format!("PATH={DEFAULT_PATH}"));
    i.env = vec!["NOEQUALS".into()];
    assert!(matches!(build(&i), Err(SpecError::BadEnv { .. })));
}

#[test]
fn bad_inputs_are_refused() {
    let mut i = inputs(vec![]);
    i.args.clear();
    assert!(matches!(build(&i), Err(SpecError::NoCommand)));
    let mut i = inputs(vec![]);
    i.cwd = "work".into();
    assert!(matches!(build(&i), Err(SpecError::RelativeCwd { .. })));
    let mut i = inputs(vec![]);
    i.etc_files = vec![(PathBuf::from("/x"), "etc/hosts".into())];
    assert!(matches!(
        build(&i),
        Err(SpecError::RelativeMountPath { .. })
    ));
}

type Ids = (u32, u32, Vec<u32>);

fn user_of(spec: &Spec) -> Ids {
    let u = spec.process().as_ref().expect("process").user();
    (
        u.uid(),
        u.gid(),
        u.additional_gids().clone().unwrap_or_default(),
    )
}

#[test]
fn users_resolve_like_runc() {
    let t = TempDir::new();
    let l = t.layer("l0", Some(PASSWD), Some(GROUP));
    let mut i = inputs(vec![l]);
    let cases: [(Option<&str>, Ids); 8] = [
        (None, (0, 0, vec![10, 4])),
        (Some("www"), (33, 33, vec![50])),
        (Some("www:adm"), (33, 4, vec![])),
        (Some("33"), (33, 33, vec![50])),
        (Some("1234"), (1234, 0, vec![])),
        (Some("1234:99"), (1234, 99, vec![])),
        (Some("nobody:nogroup"), (65534, 65534, vec![])),
        (Some("daemon"), (1, 1, vec![4])),
    ];
    for (user, want) in cases {
        i.user = user.map(str::to_owned);
        assert_eq!(user_of(&build(&i).expect("build")), want, "user {user:?}");
    }
    i.user = Some("ghost".into());
    let err = build(&i).expect_err("unknown user");
    assert!(matches!(&err, SpecError::UnknownUser { name } if name == "ghost"));
    assert_eq!(
        err.to_string(),
        "unable to find user ghost: no matching entries in passwd file"
    );
    i.user = Some("www:ghosts".into());
    assert!(matches!(build(&i), Err(SpecError::UnknownGroup { name }) if name == "ghosts"));
    i.user = Some("www:".into());
    assert!(matches!(build(&i), Err(SpecError::BadUser { .. })));
}

#[test]
fn the_topmost_layer_with_the_file_wins() {
    let t = TempDir::new();
    let bottom = t.layer("bottom", Some(PASSWD), Some(GROUP));
    let top = t.layer(
        "top",
        Some("root:x:0:0::/top-root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n"),
        None,
    );
    let mut i = inputs(vec![bottom.clone(), top.clone()]);
    i.user = Some("alice".into());
    assert_eq!(user_of(&build(&i).expect("build")), (1000, 1000, vec![]));
    i.user = Some("www".into());
    assert!(
        matches!(build(&i), Err(SpecError::UnknownUser { .. })),
        "bottom passwd is hidden"
    );
    // The group file still comes from the bottom layer.
    i.user = Some("alice:wheel".into());
    assert_eq!(user_of(&build(&i).expect("build")), (1000, 10, vec![]));
    // A whiteout in a layer above deletes the file.
    let wh = t.layer("wh", None, None);
    std::fs::write(wh.join("etc/.wh.passwd"), "").expect("whiteout");
    i.lower_layers = vec![bottom, top, wh];
    i.user = Some("alice".into());
    assert!(matches!(build(&i), Err(SpecError::UnknownUser { .. })));
}

#[test]
fn a_symlinked_passwd_stays_inside_the_layer() {
    let t = TempDir::new();
    let l = t.layer("l0", None, None);
    // An absolute symlink must resolve inside the layer, never to the host's /etc/passwd.
    std::os::unix::fs::symlink("/etc/real-passwd", l.join("etc/passwd")).expect("symlink");
    std::fs::write(l.join("etc/real-passwd"), "zed:x:77:77::/z:/bin/sh\n").expect("write");
    let mut i = inputs(vec![l]);
    i.user = Some("zed".into());
    assert_eq!(user_of(&build(&i).expect("build")), (77, 77, vec![]));
    i.user = Some("root".into());
    assert!(matches!(build(&i), Err(SpecError::UnknownUser { .. })));
}
