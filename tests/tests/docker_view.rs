//! den sees other engines' containers: a docker container's veth is identified by its name, from
//! dockerd running inside the sandbox's host netns with private state dirs.
//!
//! Skipped (with the reason printed) when dockerd is not installed: Debian's docker.io starts
//! dockerd in the machine's own network namespace when installed, so scripts/setup.sh does not
//! install it (bench/run.sh does, with service starts forbidden).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use den_tests::cgroups::PeerCgroup;
use den_tests::{fixtures, Sandbox};
use serde_json::Value;

/// dockerd with its state under DIR, stopped (containers first) on drop, and the cgroup parent
/// it made (`--cgroup-parent`, the same path in every hierarchy) removed after it.
struct Dockerd<'a> {
    sb: &'a Sandbox,
    dir: PathBuf,
    cgroup_parent: PeerCgroup,
}

impl Dockerd<'_> {
    /// The docker client talking to this dockerd, as a shell command prefix.
    fn cli(&self) -> String {
        let d = self.dir.display();
        format!("DOCKER_CONFIG={d}/client docker -H unix://{d}/docker.sock")
    }

    fn docker(&self, args: &str) -> den_tests::Output {
        self.sb.host(&format!("{} {args}", self.cli()))
    }
}

impl Drop for Dockerd<'_> {
    fn drop(&mut self) {
        let _ = self.docker("rm -f dweb");
        let pidfile = self.dir.join("docker.pid");
        if let Some(pid) = fs::read_to_string(&pidfile)
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
        {
            // SAFETY: kill(2) on the pid dockerd wrote for itself, a process this test started.
            unsafe { libc::kill(pid, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(20);
            while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        let _ = self.sb.host(&format!(
            "umount -R {}/data 2>/dev/null; true",
            self.dir.display()
        ));
        // dockerd's cgroupfs driver makes its parent in every hierarchy and never removes it.
        self.cgroup_parent.remove();
    }
}

fn which(prog: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(prog))
        .find(|p| p.is_file())
}

/// Our own cgroup in the memory hierarchy, so docker's containers nest under it.
fn own_cgroup() -> String {
    let text = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    text.lines()
        .find_map(|l| l.split_once(":memory:").map(|(_, p)| p.to_string()))
        .unwrap_or_default()
}

/// dockerd in `sb`'s host netns with its state in the sandbox's scratch dir; `None` (the reason
/// printed) when it is not installed or does not come up here.
fn start_dockerd(sb: &Sandbox) -> Option<Dockerd<'_>> {
    if which("dockerd").is_none() || which("docker").is_none() {
        eprintln!(
            "skipped: dockerd is not installed (docker.io would start dockerd in the machine's own \
             namespace on install; bench/run.sh installs it with service starts forbidden)"
        );
        return None;
    }
    let dir = sb.scratch().join("docker");
    for d in ["data", "exec", "client"] {
        fs::create_dir_all(dir.join(d)).unwrap();
    }
    fs::write(
        dir.join("daemon.json"),
        format!(
            "{{\"deprecated-key-path\": \"{}/key.json\"}}\n",
            dir.display()
        ),
    )
    .unwrap();
    let docker = Dockerd {
        sb,
        dir: dir.clone(),
        cgroup_parent: PeerCgroup::new(&format!("{}/{}-docker", own_cgroup(), sb.name())),
    };
    let d = dir.display();
    sb.host_spawn(&format!(
        "cd {d} && exec dockerd --data-root {d}/data --exec-root {d}/exec -H unix://{d}/docker.sock \
         --pidfile {d}/docker.pid --config-file {d}/daemon.json --cgroup-parent {cg} \
         </dev/null >{d}/dockerd.log 2>&1",
        cg = docker.cgroup_parent.absolute(),
    ));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !docker.docker("version").success() {
        if Instant::now() > deadline {
            let log = fs::read_to_string(dir.join("dockerd.log")).unwrap_or_default();
            eprintln!(
                "skipped: dockerd did not come up: {}",
                log.lines().last().unwrap_or("")
            );
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Some(docker)
}

#[test]
fn docker_loads_what_den_saves_as_the_same_image() {
    let sb = Sandbox::new();
    let Some(docker) = start_dockerd(&sb) else {
        return;
    };
    sb.den(&[
        "image",
        "load",
        "--name",
        "saved/bb:v1",
        fixtures().oci_arg(),
    ])
    .ok();
    let id = sb.den(&["image", "inspect", "saved/bb:v1"]).ok().stdout;
    let id: Value = serde_json::from_str(&id).unwrap();
    let id = id[0]["Id"].as_str().unwrap().to_string();
    let file = sb.scratch().join("saved.tar");
    sb.den(&["image", "save", "-o", file.to_str().unwrap(), "saved/bb:v1"])
        .ok();
    let loaded = docker.docker(&format!("load -i {}", file.display())).ok();
    assert!(loaded.stdout.contains("saved/bb:v1"), "{loaded}");
    let seen = docker.docker("image inspect -f '{{.Id}}' saved/bb:v1").ok();
    assert_eq!(seen.stdout.trim(), id, "{seen}");
}

#[test]
fn a_docker_containers_veth_is_identified_by_name() {
    let sb = Sandbox::new();
    let Some(docker) = start_dockerd(&sb) else {
        return;
    };
    let rootfs = fixtures().dir_arg();
    sb.host(&format!(
        "tar -C {rootfs} -c . | {} import - den-bb",
        docker.cli()
    ))
    .ok();
    let run = docker.docker("run -d --name dweb -p 8081:80 den-bb sleep 600");
    if !run.success() {
        eprintln!("skipped: docker run failed here: {}", run.stderr.trim());
        return;
    }
    let id = run.stdout.trim().to_string();

    let out = sb.den(&["veth"]).ok().stdout;
    let want = format!("in docker container dweb ({})", &id[..12]);
    let line = out
        .lines()
        .find(|l| l.contains(&want))
        .unwrap_or_else(|| panic!("no veth line names {want}:\n{out}"));
    assert!(line.contains("is paired with eth0@if"), "{line}");
    assert!(line.ends_with("bridge docker0"), "{line}");

    let topo: Value =
        serde_json::from_str(&sb.den(&["topology", "--format", "json"]).ok().stdout).unwrap();
    let pid: u64 = docker
        .docker("inspect -f '{{.State.Pid}}' dweb")
        .ok()
        .stdout
        .trim()
        .parse()
        .unwrap();
    let ns = topo["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["owner"]["kind"] == "docker")
        .unwrap_or_else(|| panic!("no docker namespace in {topo:#}"));
    assert_eq!(ns["owner"]["name"], "dweb", "{ns}");
    assert_eq!(ns["owner"]["id"], id.as_str(), "{ns}");
    assert_eq!(ns["pid"], pid, "{ns}");

    // Its address in docker's own (iptables-nft) rules, read from the kernel: the accept of -p
    // 8081:80 in DOCKER and the masquerade of its subnet. (The DNAT itself is an xtables target
    // that nft cannot decode, so its address is not visible there.)
    let ip = docker
        .docker("inspect -f '{{.NetworkSettings.IPAddress}}' dweb")
        .ok()
        .stdout
        .trim()
        .to_string();
    let rules = sb.den(&["rules", "dweb"]).ok().stdout;
    let accept = format!("ip daddr {ip} tcp dport 80");
    let accepted = rules
        .lines()
        .any(|l| l.contains(&accept) && l.ends_with("accept"));
    assert!(accepted, "no `{accept} ... accept` in\n{rules}");
    assert!(rules.contains("ip filter DOCKER"), "{rules}");
    assert!(rules.contains("ip saddr 172.17.0.0/16"), "{rules}");
    templates_print_what_docker_prints(&sb, &docker);
    drop(docker);
}

/// The same templates over docker's `dweb` and a den container made alike (same name, command,
/// published port) print the same, where the values do not depend on the engine.
fn templates_print_what_docker_prints(sb: &Sandbox, docker: &Dockerd) {
    let img = fixtures().dir_arg();
    sb.den(&[
        "run", "-d", "--name", "dweb", "-p", "8082:80", img, "sleep", "600",
    ])
    .ok();
    let inspect = [
        "{{.Name}}",
        "{{.State.Status}} {{.State.Running}} {{.State.Paused}} {{.State.Restarting}} \
         {{.State.OOMKilled}} {{.State.Dead}} {{.State.ExitCode}}",
        "{{.Path}} {{json .Args}} {{json .Config.Cmd}} {{json .Config.Entrypoint}}",
        "{{json .Config.ExposedPorts}} {{.HostConfig.RestartPolicy.Name}}",
        "{{range $p, $c := .NetworkSettings.Ports}}{{$p}}={{(index $c 0).HostIp}}{{end}}",
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}{{len .NetworkSettings.Networks}}",
        "{{truncate .Image 7}} {{len .Id}} {{.State.FinishedAt}}",
        "{{range $p, $b := .HostConfig.PortBindings}}{{$p}} {{json $b}}{{end}}",
    ];
    for t in inspect {
        let theirs = docker.docker(&format!("inspect -f '{t}' dweb")).ok().stdout;
        let ours = sb.den(&["inspect", "-f", t, "dweb"]).ok().stdout;
        let ours = ours.replace("8082", "8081");
        assert_eq!(ours, theirs, "den and docker differ on {t}");
    }
    let ps = [
        "{{.Names}}|{{.State}}|{{.Command}}|{{.Networks}}",
        "table {{.Names}}\\t{{.State}}\\t{{.Networks}}",
    ];
    for t in ps {
        let theirs = docker.docker(&format!("ps --format '{t}'")).ok().stdout;
        let ours = sb.den(&["ps", "--format", t]).ok().stdout;
        assert_eq!(ours, theirs, "den and docker ps differ on {t}");
    }
    sb.den(&["rm", "-f", "dweb"]).ok();
}
