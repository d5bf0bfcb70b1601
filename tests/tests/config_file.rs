//! den's config file (`DEN_CONFIG`, else /etc/den/config.toml) takes effect: the default
//! bridge's subnet and bridge name, the containers' DNS, and the cgroup parent, with flags (and
//! their environment variables) overriding it; a bad file is one clear line and exit 125.

use den_tests::{den_bin, fixtures, Output, Sandbox};

/// `den --root ROOT ARGS` in the host netns with `DEN_CONFIG=config`.
fn den_with(sb: &Sandbox, config: &std::path::Path, args: &str) -> Output {
    sb.host(&format!(
        "DEN_CONFIG={} {} --root {} {args}",
        config.display(),
        den_bin().display(),
        sb.root().display()
    ))
}

#[test]
fn the_default_bridge_and_dns_come_from_the_config_file() {
    let sb = Sandbox::new();
    let config = sb.scratch().join("config.toml");
    std::fs::write(
        &config,
        "dns = [\"10.9.9.9\"]\ndns-search = [\"habits.lan\"]\n\
         [default-bridge]\nsubnet = \"10.123.0.0/24\"\nbridge = \"dencfg0\"\n",
    )
    .unwrap();
    let img = fixtures().dir_arg();
    let run = den_with(
        &sb,
        &config,
        &format!("run --rm {img} sh -c 'ip -4 -o addr show eth0; cat /etc/resolv.conf'"),
    )
    .ok();
    assert!(run.stdout.contains("inet 10.123.0."), "{run}");
    assert!(run.stdout.contains("nameserver 10.9.9.9\n"), "{run}");
    assert!(run.stdout.contains("search habits.lan\n"), "{run}");
    let links = sb.host("ip -o link show dencfg0").ok();
    assert!(links.stdout.contains("dencfg0"), "{links}");
    let net = sb.den(&["network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}} {{index .Options \"com.docker.network.bridge.name\"}}", "bridge"]).ok();
    assert_eq!(net.stdout, "10.123.0.0/24 dencfg0\n");
}

#[test]
fn a_bad_config_file_is_one_line_and_exit_125() {
    let sb = Sandbox::new();
    let config = sb.scratch().join("config.toml");
    std::fs::write(&config, "colour = \"blue\"\n").unwrap();
    let out = den_with(
        &sb,
        &config,
        &format!("run --rm --network none {} true", fixtures().dir_arg()),
    );
    assert_eq!(out.code(), 125, "{out}");
    assert_eq!(out.stderr_lines().len(), 1, "{out}");
    assert!(out.stderr.contains("config.toml"), "{out}");
}
