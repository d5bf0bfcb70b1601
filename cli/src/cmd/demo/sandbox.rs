//! The demo's throwaway sandbox, made with the very `ip` commands it narrates: a "host" netns
//! (den runs here) and an "outside" one behind a veth, a state dir, and the processes it started;
//! all removed on drop (unless kept).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use anyhow::{bail, Context, Result};

pub const HOST_ADDR: &str = "10.250.0.1";
pub const OUT_ADDR: &str = "10.250.0.2";

pub struct Sandbox {
    pub host: String,
    pub out: String,
    pub root: PathBuf,
    pub den: PathBuf,
    made: Vec<String>,
    children: Vec<Child>,
    pub keep: bool,
    /// The demo's containers' `--cgroup-parent` (env DEN_CGROUP_PARENT, relative to den's own
    /// cgroup): the sandbox's name, so its cgroup dirs go with it.
    cgroup_parent: String,
}

impl Sandbox {
    pub fn new(den: PathBuf, keep: bool) -> Result<Sandbox> {
        let tag = format!("den-demo-{}", std::process::id());
        let root = std::env::temp_dir().join(format!("{tag}.root"));
        std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
        let mut sb = Sandbox {
            host: format!("{tag}-host"),
            out: format!("{tag}-out"),
            root,
            den,
            made: Vec::new(),
            children: Vec::new(),
            keep,
            cgroup_parent: tag.clone(),
        };
        for ns in [sb.host.clone(), sb.out.clone()] {
            sb.sh(&format!("ip netns add {ns}"))?;
            sb.made.push(ns);
        }
        let (h, o) = (sb.host.clone(), sb.out.clone());
        for cmd in [
            format!("ip link add dt-up netns {h} type veth peer name eth0 netns {o}"),
            format!("ip -n {h} addr add {HOST_ADDR}/24 dev dt-up"),
            format!("ip -n {h} link set dt-up up"),
            format!("ip -n {h} link set lo up"),
            format!("ip -n {o} addr add {OUT_ADDR}/24 dev eth0"),
            format!("ip -n {o} link set eth0 up"),
            format!("ip -n {o} link set lo up"),
            format!("ip -n {h} route add default via {OUT_ADDR}"),
        ] {
            sb.sh(&cmd)?;
        }
        Ok(sb)
    }

    /// Prints `$ CMD` and runs it with `sh -c`; its output goes straight to ours.
    pub fn sh(&self, cmd: &str) -> Result<()> {
        println!("$ {cmd}");
        let status = Command::new("sh")
            .args(["-c", cmd])
            .status()
            .with_context(|| format!("running {cmd}"))?;
        if !status.success() {
            bail!("`{cmd}` failed ({status})");
        }
        Ok(())
    }

    /// `den ARGS` in the host netns, shown as the user would type it.
    pub fn den(&self, args: &str) -> Result<()> {
        println!("$ den {args}");
        let cmd = format!(
            "DEN_CGROUP_PARENT={} nsenter --net=/run/netns/{} -- {} --root {} {args}",
            self.cgroup_parent,
            self.host,
            self.den.display(),
            self.root.display()
        );
        let status = Command::new("sh")
            .args(["-c", &cmd])
            .status()
            .context("running den")?;
        if !status.success() {
            bail!("`den {args}` failed ({status})");
        }
        Ok(())
    }

    /// `CMD` in the host netns (`ip netns exec` is shown; nsenter keeps /sys as it is).
    pub fn in_host(&self, cmd: &str) -> Result<()> {
        println!("$ ip netns exec {} {cmd}", self.host);
        let status = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", self.host))
            .args(["--", "sh", "-c", cmd])
            .status()?;
        if !status.success() {
            bail!("`{cmd}` failed in the host netns ({status})");
        }
        Ok(())
    }

    /// `CMD` in the outside netns.
    pub fn outside(&self, cmd: &str) -> Result<()> {
        self.sh(&format!("ip netns exec {} {cmd}", self.out))
    }

    /// Starts `CMD` in the outside netns in the background; stopped on drop.
    pub fn outside_bg(&mut self, cmd: &str) -> Result<()> {
        println!("$ ip netns exec {} {cmd} &", self.out);
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.out,
                "sh",
                "-c",
                &format!("exec {cmd}"),
            ])
            .stdout(Stdio::null())
            .spawn()?;
        self.children.push(child);
        Ok(())
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        if self.keep {
            println!(
                "\nkept: enter with  nsenter --net=/run/netns/{} {} --root {} ps",
                self.host,
                self.den.display(),
                self.root.display()
            );
            println!("remove with  nsenter --net=/run/netns/{} {} --root {} rm -f web; ip netns del {}; ip netns del {}; rm -rf {}", self.host, self.den.display(), self.root.display(), self.host, self.out, self.root.display());
            return;
        }
        let rm = format!(
            "nsenter --net=/run/netns/{} -- {} --root {} rm -f web",
            self.host,
            self.den.display(),
            self.root.display()
        );
        let _ = Command::new("sh")
            .args(["-c", &rm])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        for ns in self.made.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        let _ = std::fs::remove_dir_all(&self.root);
        remove_cgroup_parent(&self.cgroup_parent);
    }
}

/// `rmdir` of the (by now empty) cgroup parent `name` below this process's own cgroup in each
/// hierarchy, where den put the demo's containers.
fn remove_cgroup_parent(name: &str) {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    for line in own.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(ctrls), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let path = path.trim_start_matches('/');
        let dirs: Vec<PathBuf> = match ctrls {
            "" => vec![
                PathBuf::from("/sys/fs/cgroup/unified").join(path),
                PathBuf::from("/sys/fs/cgroup").join(path),
            ],
            c if c.starts_with("name=") => continue,
            c => vec![PathBuf::from("/sys/fs/cgroup").join(c).join(path)],
        };
        for d in dirs {
            let _ = std::fs::remove_dir(d.join(name));
        }
    }
}
