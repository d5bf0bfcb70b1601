//! podman 4.3 with its CNI backend driving den-cni: a published port reached from the outside
//! netns, MASQUERADE seen outside, and `podman rm -f` leaving nothing behind.

use std::fs;
use std::os::unix::fs::symlink;

use den_tests::cgroups::PeerCgroup;
use den_tests::{
    addr, den_cni_bin, fixtures, http_get, wait_ok, PeerServer, Sandbox, START_TIMEOUT,
};

/// The podman command line for this sandbox: private storage, den-cni as the only plugin.
/// `run` needs `--cgroup-parent` too ([`podman_parent`]).
fn podman(sb: &Sandbox) -> String {
    let s = sb.scratch();
    let (bin, net) = (s.join("cni-bin"), s.join("net.d"));
    fs::create_dir_all(&bin).unwrap();
    fs::create_dir_all(&net).unwrap();
    if !bin.join("den-cni").exists() {
        symlink(den_cni_bin(), bin.join("den-cni")).unwrap();
    }
    let conflist = serde_json::json!({
        "cniVersion": "1.0.0",
        "name": "denbridge",
        "plugins": [{
            "type": "den-cni",
            "bridge": "cni0",
            "ipam": {"type": "den", "ranges": [[{"subnet": "10.88.0.0/16"}]], "dataDir": sb.root()},
            "capabilities": {"portMappings": true},
        }],
    });
    fs::write(net.join("denbridge.conflist"), conflist.to_string()).unwrap();
    let conf = s.join("containers.conf");
    fs::write(
        &conf,
        format!(
            "[containers]\ndefault_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]\n\
             [network]\nnetwork_backend = \"cni\"\ncni_plugin_dirs = [\"{}\"]\n\
             [engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\nruntime = \"runc\"\n",
            bin.display()
        ),
    )
    .unwrap();
    format!(
        "CONTAINERS_CONF={} podman --root {} --runroot {} --network-backend cni \
         --network-config-dir {}",
        conf.display(),
        s.join("podman-root").display(),
        s.join("podman-run").display(),
        net.display()
    )
}

/// podman with cgroupfs puts conmon and the container below `/libpod_parent` at the root of every
/// hierarchy unless `run` is given `--cgroup-parent`: an absolute path, the same in every
/// hierarchy. This one is `<the test's own cgroup>/den-tests/<sandbox>/podman`, which nests under
/// the test's own cgroup in each hierarchy where the own paths are prefixes of the longest one
/// (so it is under "/" where the test sits at the root); `None` where they are not.
fn podman_parent(sb: &Sandbox) -> Option<PeerCgroup> {
    let text = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let own: Vec<&str> = text
        .lines()
        .filter_map(|l| l.splitn(3, ':').nth(2))
        .map(|p| p.trim_matches('/'))
        .collect();
    let longest = own.iter().max_by_key(|p| p.len()).copied().unwrap_or("");
    let under = |p: &&str| p.is_empty() || longest == *p || longest.starts_with(&format!("{p}/"));
    if !own.iter().all(under) {
        return None;
    }
    let rel = format!("{}/podman", den_tests::cgroups::parent(sb.name()));
    Some(PeerCgroup::new(&format!("{longest}/{rel}")))
}

/// podman 4.3's libcni caches results under /var/lib/cni with no option to move it: if this test
/// makes that directory, it removes it again (only while empty: never what others put there).
struct CniCache {
    made: bool,
}

const CACHE: &str = "/var/lib/cni";

impl CniCache {
    fn new() -> CniCache {
        CniCache {
            made: !std::path::Path::new(CACHE).exists(),
        }
    }
}

impl Drop for CniCache {
    fn drop(&mut self) {
        if self.made {
            let _ = fs::remove_dir(format!("{CACHE}/results"));
            let _ = fs::remove_dir(CACHE);
        }
    }
}

#[test]
fn podman_cni_backend_publishes_masquerades_and_cleans_up() {
    let _cache = CniCache::new();
    let roots = libpod_roots();
    // Declared before the sandbox so that, on a failure, it is dropped after it: the sandbox's
    // teardown kills podman's processes first, and only an empty cgroup can be removed.
    let cgroups: PeerCgroup;
    let sb = Sandbox::new();
    cgroups = match podman_parent(&sb) {
        Some(c) => c,
        None => {
            eprintln!("SKIP: this test's own cgroups differ by hierarchy: no one --cgroup-parent nests under all");
            return;
        }
    };
    let p = podman(&sb);
    let parent = format!("--cgroup-parent {}", cgroups.absolute());
    let rootfs = fixtures().dir_arg();
    sb.host(&format!(
        "tar -C {rootfs} -c . | {p} import - localhost/denbox"
    ))
    .ok();
    // den's table, bridge and port records exist after a first container: the state to return to.
    sb.host(&format!(
        "{p} run --rm {parent} --network denbridge -p 8081:80 localhost/denbox true"
    ))
    .ok();
    let before = sb.footprint();
    let web = "mkdir -p /www && echo hello-podman > /www/index.html && exec httpd -f -p 80 -h /www";
    sb.host(&format!(
        "{p} run -d --name web {parent} --network denbridge -p 8080:80 localhost/denbox sh -c '{web}'"
    ))
    .ok();
    let page = wait_ok(
        START_TIMEOUT,
        "podman's published port from outside",
        || http_get(&sb.out_ns_path(), addr("10.250.0.1:8080")),
    );
    assert_eq!(page, "hello-podman\n");
    let map = sb.host("nft list map ip den published").ok().stdout;
    assert!(map.contains("den: container cni-"), "{map}");
    let peer = PeerServer::start(&sb.out_ns_path(), addr("10.250.0.2:9000"));
    let seen = sb
        .host(&format!(
            "{p} exec web sh -c 'timeout 5 wget -qO- http://10.250.0.2:9000/'"
        ))
        .ok();
    assert_eq!(
        seen.out(),
        "10.250.0.1",
        "MASQUERADE: the outside sees the host"
    );
    assert_eq!(peer.peers().len(), 1);
    sb.host(&format!("{p} rm -f -t 0 web")).ok();
    sb.assert_footprint(&before, "after podman rm -f");
    let left = cgroups.remove();
    assert!(
        left.is_empty(),
        "cgroups podman's parent made, left: {left:?}"
    );
    assert_eq!(libpod_roots(), roots, "podman's dirs at a hierarchy's root");
}

/// podman's dirs (`libpod*`) at the root of every hierarchy, sorted (other suites' dirs come and
/// go there meanwhile).
fn libpod_roots() -> Vec<String> {
    let mut out: Vec<String> = fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|h| fs::read_dir(h.path()).into_iter().flatten().flatten())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path().display().to_string())
        .filter(|p| {
            p.rsplit('/')
                .next()
                .is_some_and(|n| n.starts_with("libpod"))
        })
        .collect();
    out.sort();
    out
}
