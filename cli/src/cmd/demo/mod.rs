//! `den demo [--step] [--keep]`: the seeds' journey, replayed in a throwaway sandbox with the
//! built-in fixture image, in short plain words, each step shown as the commands that do it. A
//! guided front: it runs `ip`, `nft` and den itself exactly as a learner would type them.

mod sandbox;

use std::io::BufRead;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use sandbox::{Sandbox, HOST_ADDR, OUT_ADDR};

#[derive(clap::Args)]
pub struct Args {
    /// Pause after each step until Enter.
    #[arg(long)]
    step: bool,
    /// Leave the sandbox in place and print how to enter and remove it.
    #[arg(long)]
    keep: bool,
    /// The image (default: the fixture OCI layout next to den's build, target/fixtures/busybox.oci).
    #[arg(long)]
    image: Option<PathBuf>,
}

const WEB: &str = "sh -c 'mkdir -p /w && echo hello from the container > /w/index.html && exec httpd -f -p 80 -h /w'";

pub fn main(_root: &Path, a: Args) -> Result<i32> {
    let den = std::env::current_exe().context("finding den's own binary")?;
    let image = match a.image {
        Some(i) => i,
        None => den
            .parent()
            .and_then(Path::parent)
            .map(|t| t.join("fixtures/busybox.oci"))
            .unwrap_or_default(),
    };
    if !image.exists() {
        bail!(
            "no image at {}: build the fixtures (bash rootfs-fixtures/build.sh) or give --image",
            image.display()
        );
    }
    let img = image.display().to_string();
    say("A sandbox", "Two network namespaces, like two rooms of a house: one plays the host (den runs there), the other the internet. A veth is the cable between them (seed 000).");
    let mut sb = Sandbox::new(den, a.keep)?;
    let pause = || {
        if a.step {
            println!("\n[Enter for the next step]");
            let _ = std::io::stdin().lock().lines().next();
        }
    };
    pause();
    say("--network none", "A room with no door: only lo.");
    sb.den(&format!("run --rm --network none {img} ip link"))?;
    pause();
    say("--network host", "No room of its own: the host's links. But still PID 1: the PID namespace is separate from the network one.");
    sb.den(&format!("run --rm --network host {img} sh -c 'ip link | grep -o \"^[0-9]*: [^:]*\"; echo my pid: $$'"))?;
    pause();
    say("--network bridge", "docker0's way: a bridge den0 (a virtual switch), a veth per container, an address from IPAM, NAT at the door.");
    sb.den(&format!("run -d --name web -p 8080:80 {img} {WEB}"))?;
    sb.in_host("ip -br link; bridge link; ip route")?;
    sb.in_host("nft list map ip den published")?;
    pause();
    say(
        "PID 1 inside, another PID outside",
        "The same process, two names for it. den ns puts its namespaces beside the host's: pid, net, mnt, uts, ipc are its own, user, cgroup and time are shared.",
    );
    sb.den("top web")?;
    sb.den("ns web host")?;
    pause();
    say(
        "Two containers on den0",
        "They talk through the bridge, and each learns the other's MAC (ARP).",
    );
    sb.den(&format!("run --rm {img} sh -c 'timeout 5 wget -qO- http://web/ 2>/dev/null || timeout 5 wget -qO- http://172.20.0.2/; ip neigh'"))?;
    pause();
    say("MASQUERADE", "Going out, the container's address is swapped for the host's. A server outside reports who it sees.");
    let www = sb.root.join("outside-www");
    std::fs::create_dir_all(www.join("cgi-bin"))?;
    std::fs::write(
        www.join("cgi-bin/peer"),
        "#!/bin/sh\necho Content-Type: text/plain\necho\necho \"$REMOTE_ADDR\"\n",
    )?;
    sb.sh(&format!("chmod +x {}/cgi-bin/peer", www.display()))?;
    sb.outside_bg(&format!(
        "/bin/busybox httpd -f -p 9000 -h {}",
        www.display()
    ))?;
    std::thread::sleep(std::time::Duration::from_millis(300));
    sb.den(&format!("run --rm {img} sh -c 'echo -n \"the outside saw: \"; timeout 5 wget -qO- http://{OUT_ADDR}:9000/cgi-bin/peer'"))?;
    sb.den(&format!("explain web --to {OUT_ADDR}:9000"))?;
    pause();
    say("DNAT", "Coming in, port 8080 on the host leads to port 80 in the container. Why does it get through? den explain reads each hop from the kernel.");
    sb.outside(&format!("/bin/busybox wget -qO- http://{HOST_ADDR}:8080/"))?;
    sb.den("explain web 8080")?;
    pause();
    say("A real packet", "den trace marks the container's packets and prints every rule they meet; --probe sends one SYN itself.");
    sb.den("trace web --probe")?;
    pause();
    say("The picture", "All of it at once.");
    let picture = sb.root.join("topology.txt");
    topology(&sb, &picture)?;
    pause();
    say(
        "Seed 001's host-only mode",
        "A veth straight to the host with a /31 of its own: no bridge, no NAT, no way further.",
    );
    sb.den(&format!("run --rm --network hostonly {img} sh -c 'ip -4 -o addr show eth0; ip route; ping -c1 -W1 {OUT_ADDR} >/dev/null 2>&1 || echo {OUT_ADDR}: unreachable'"))?;
    say(
        "Seed 001's isolated mode",
        "lo and a dummy0 with an address, no cable at all.",
    );
    if sb
        .den(&format!("run --rm --network isolated {img} ip -4 -o addr"))
        .is_err()
    {
        println!("(this kernel has no dummy link type: den said so above)");
    }
    pause();
    say("Seed 001's bridged mode", "The host's own cable goes into the bridge, with its address and default route: containers join the LAN itself, no NAT. network rm gives it all back.");
    sb.den("network create --uplink dt-up --force lan")?;
    sb.in_host("ip -4 -br addr; ip route")?;
    sb.den(&format!("run --rm --network lan {img} sh -c 'ip -4 -o addr show eth0; echo -n \"the outside saw: \"; timeout 5 wget -qO- http://{OUT_ADDR}:9000/cgi-bin/peer'"))?;
    sb.den("network rm lan")?;
    sb.in_host("ip -4 -br addr; ip route")?;
    pause();
    say(
        "Cleaning up",
        if a.keep {
            "Keeping the sandbox, as asked."
        } else {
            "den removes the container's veth, nft elements and lease; then the sandbox goes."
        },
    );
    if !a.keep {
        sb.den("rm -f web")?;
        sb.in_host("ip -br link; nft list map ip den published")?;
    }
    Ok(0)
}

/// `den topology` as text into `file` and as an SVG beside it, and `den veth`: which host veth is
/// whose (seed 002's question).
fn topology(sb: &Sandbox, file: &Path) -> Result<()> {
    let f = file.display();
    sb.den(&format!("topology > {f}"))?;
    println!("(written to {f})");
    sb.sh(&format!("cat {f}"))?;
    let svg = file.with_extension("svg");
    sb.den(&format!("topology --format svg -o {}", svg.display()))?;
    println!(
        "(the same as a picture: {}, for a browser; kept with --keep)",
        svg.display()
    );
    sb.den("veth")
}

fn say(title: &str, words: &str) {
    println!("\n\x1b[1m== {title}\x1b[0m\n{words}");
}
