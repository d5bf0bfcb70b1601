//! The files den writes for a container and bind-mounts over its /etc: hostname, hosts, resolv.conf.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use den_netcfg::Attachment;

use super::netflags::EtcSettings;

/// Where the three files live in the container's state directory, paired with their container paths.
pub fn paths(dir: &Path) -> Vec<(PathBuf, String)> {
    ["hostname", "hosts", "resolv.conf"]
        .iter()
        .map(|f| (dir.join(f), format!("/etc/{f}")))
        .collect()
}

const LOCALHOST: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

/// Create the three files before the child is cloned (its bind mounts refer to them); `write` fills them
/// in place later, once the network is known.
pub fn prepare(dir: &Path, hostname: &str) -> io::Result<()> {
    fs::write(dir.join("hostname"), format!("{hostname}\n"))?;
    fs::write(dir.join("hosts"), "")?;
    fs::write(dir.join("resolv.conf"), "")
}

/// Fill hosts and resolv.conf (in place: the child's bind mounts already refer to these inodes). `host_network`: the container shares the host's files (copied).
pub fn write(
    dir: &Path,
    hostname: &str,
    att: Option<&Attachment>,
    host_network: bool,
    extra: &EtcSettings,
) -> io::Result<()> {
    let host_resolv = fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    // den's config file may name other nameservers, search domains, options (`crate::config`;
    // `den run` has read it already, so it parses); the flags (`extra`) come on top.
    let host_resolv = crate::config::load()
        .unwrap_or_default()
        .resolv_conf(&host_resolv);
    if host_network {
        // The host's files, with `--add-host` and `--dns*` applied as on any network.
        let hosts = fs::read_to_string("/etc/hosts").unwrap_or_default();
        fs::write(dir.join("hosts"), hosts + &extra.hosts_lines(None))?;
        return fs::write(dir.join("resolv.conf"), extra.resolv_conf(&host_resolv));
    }
    // docker's order: localhost, `--add-host` entries, the container's own name.
    let mut hosts = LOCALHOST.to_string();
    hosts.push_str(&extra.hosts_lines(att.map(|a| a.gateway)));
    if let Some(att) = att {
        hosts.push_str(&format!("{}\t{hostname}\n", att.ip));
    }
    fs::write(dir.join("hosts"), hosts)?;
    let base = container_resolv_conf(&host_resolv);
    fs::write(dir.join("resolv.conf"), extra.resolv_conf(&base))
}

/// The host's resolv.conf minus loopback nameservers (unreachable from a container's own netns), like
/// docker. If none remain, the container gets no nameserver rather than invented public ones.
pub fn container_resolv_conf(host: &str) -> String {
    host.lines()
        .filter(|line| {
            let mut words = line.split_whitespace();
            match (words.next(), words.next()) {
                (Some("nameserver"), Some(addr)) => !(addr.starts_with("127.") || addr == "::1"),
                _ => true,
            }
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::container_resolv_conf;

    #[test]
    fn drops_loopback_nameservers_only() {
        let host = "search lan\nnameserver 127.0.0.53\nnameserver 10.0.0.1\nnameserver ::1\noptions edns0\n";
        assert_eq!(
            container_resolv_conf(host),
            "search lan\nnameserver 10.0.0.1\noptions edns0\n"
        );
    }

    #[test]
    fn no_invented_nameservers() {
        assert_eq!(container_resolv_conf("nameserver 127.0.0.1\n"), "");
    }
}
