//! Name resolution on user networks: every member's /etc/hosts lists every member of the network by
//! container name and short id, kept current as containers join and leave.
//!
//! Why /etc/hosts and not a resolver: den has no daemon, and a DNS server per network would be one
//! (a process to start, supervise, and tear down). /etc/hosts is read by every libc (glibc, musl,
//! busybox) on each lookup, needs no process, and is already den's own file per container. The cost:
//! a rewrite per member when a container joins or leaves, O(members) small writes.
//!
//! The file is rewritten IN PLACE (the container's bind mount refers to its inode): the part up to
//! den's first marker line (localhost and the container's own hostname, written by `den run`) is
//! kept, and the block of the network refreshed (from its marker to the next marker) is replaced;
//! a container on several networks (`den network connect`) has one block each. A member's
//! `--network-alias` names follow its name on that network's line. Membership is the network's leases, read under the
//! network lock, so that two containers joining at once cannot write stale lists last: a lease exists
//! from attach to detach, exactly while the container is on the network.
//!
//! The default network `bridge` gets no names, as with docker's default bridge.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use den_netcfg::{AttachError, Networks};

use crate::state::{StateError, Store};

#[derive(Debug, thiserror::Error)]
pub enum HostsError {
    #[error(transparent)]
    Leases(Box<AttachError>),
    #[error("updating the hosts file {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    State(#[from] StateError),
}

/// Rewrites the hosts file of every container that holds a lease on `network` so that it lists all of
/// them. Call after a container is attached (and its own hosts file written) and after it is detached.
pub fn refresh(root: &Path, network: &str) -> Result<(), HostsError> {
    if network == den_netcfg::network::DEFAULT {
        return Ok(());
    }
    let store = Store::new(root);
    Networks::new(root)
        .members(network, |leases| {
            let mut members = Vec::new();
            for lease in leases {
                match store.load_id(&lease.owner) {
                    Ok(c) => members.push(Member {
                        ip: lease.ip,
                        aliases: c.aliases.get(network).cloned().unwrap_or_default(),
                        name: c.name,
                        id: c.id,
                    }),
                    // A lease whose container is gone (a crash `den gc` has not collected yet).
                    Err(StateError::NotFound(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            let block = block(network, &members);
            for m in &members {
                let path = store.dir(&m.id).join("hosts");
                rewrite(&path, network, &block)
                    .map_err(|source| HostsError::Write { path, source })?;
            }
            Ok(())
        })
        .map_err(|e| HostsError::Leases(Box::new(e)))?
}

/// One container on the network.
#[derive(Debug)]
struct Member {
    ip: Ipv4Addr,
    name: String,
    id: String,
    aliases: Vec<String>,
}

fn marker(network: &str) -> String {
    format!("# den: containers on network {network}\n")
}

/// The lines den keeps for one network, led by the marker line, sorted by name.
fn block(network: &str, members: &[Member]) -> String {
    let mut by_name: BTreeMap<&str, &Member> = BTreeMap::new();
    for m in members {
        by_name.insert(&m.name, m);
    }
    let mut s = marker(network);
    for m in by_name.values() {
        let short: String = m.id.chars().take(12).collect();
        s.push_str(&format!("{}\t{} {short}", m.ip, m.name));
        for a in &m.aliases {
            s.push_str(&format!(" {a}"));
        }
        s.push('\n');
    }
    s
}

const ANY_MARKER: &str = "# den: containers on network ";

/// Where each den block of `s` starts (a marker at a line's start).
fn block_starts(s: &str) -> Vec<usize> {
    s.match_indices(ANY_MARKER)
        .map(|(at, _)| at)
        .filter(|&at| at == 0 || s.as_bytes()[at - 1] == b'\n')
        .collect()
}

/// `current` with the block of `network` replaced by `block` (appended if it had none); the
/// container's own part and other networks' blocks kept.
fn merged(current: &str, network: &str, block: &str) -> String {
    let starts = block_starts(current);
    let own_end = starts.first().copied().unwrap_or(current.len());
    let mut s = current[..own_end].to_string();
    if !s.is_empty() && !s.ends_with('\n') {
        s.push('\n');
    }
    let mine = marker(network);
    for (i, &at) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(current.len());
        if !current[at..].starts_with(&mine) {
            s.push_str(&current[at..end]);
        }
    }
    s.push_str(block);
    s
}

/// Take `network`'s block out of the hosts file at `path` (the container left that network);
/// a file that is gone is fine.
pub fn forget(path: &Path, network: &str) -> io::Result<()> {
    rewrite(path, network, "")
}

/// Replace the file's den block in place: write from offset 0, then cut to length. A container whose
/// hosts file is gone (removed meanwhile) is skipped.
fn rewrite(path: &Path, network: &str, block: &str) -> io::Result<()> {
    let current = match fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let new = merged(&current, network, block);
    if new == current {
        return Ok(());
    }
    let mut f = match OpenOptions::new().write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    f.write_all(new.as_bytes())?;
    f.set_len(new.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(ip: &str, name: &str, id: &str) -> Member {
        Member {
            ip: ip.parse().unwrap(),
            name: name.into(),
            id: id.into(),
            aliases: Vec::new(),
        }
    }

    const OWN: &str = "127.0.0.1\tlocalhost\n10.1.0.2\tabc\n";

    #[test]
    fn block_lists_members_by_name_and_short_id() {
        let b = block(
            "n",
            &[
                m("10.1.0.3", "web", "0123456789abcdef"),
                m("10.1.0.2", "db", "fedcba9876543210"),
            ],
        );
        assert_eq!(
            b,
            "# den: containers on network n\n10.1.0.2\tdb fedcba987654\n10.1.0.3\tweb 0123456789ab\n"
        );
    }

    #[test]
    fn merge_keeps_the_own_part_and_replaces_the_block() {
        let one = merged(OWN, "n", &block("n", &[m("10.1.0.2", "a", "aaaa")]));
        assert_eq!(
            one,
            format!("{OWN}# den: containers on network n\n10.1.0.2\ta aaaa\n")
        );
        let none = merged(&one, "n", &block("n", &[]));
        assert_eq!(none, format!("{OWN}# den: containers on network n\n"));
        assert_eq!(merged("x", "n", "B\n"), "x\nB\n");
    }

    #[test]
    fn each_network_keeps_its_own_block_and_aliases_follow_the_name() {
        let mut web = m("10.2.0.3", "web", "0123456789abcdef");
        web.aliases = vec!["www".into(), "api".into()];
        let two = merged(
            &merged(OWN, "a", &block("a", &[m("10.1.0.2", "x", "aaaa")])),
            "b",
            &block("b", &[web]),
        );
        assert_eq!(
            two,
            format!(
                "{OWN}# den: containers on network a\n10.1.0.2\tx aaaa\n\
                 # den: containers on network b\n10.2.0.3\tweb 0123456789ab www api\n"
            )
        );
        let left_a = merged(&two, "a", "");
        assert_eq!(
            left_a,
            format!("{OWN}# den: containers on network b\n10.2.0.3\tweb 0123456789ab www api\n")
        );
    }

    #[test]
    fn rewrite_keeps_the_inode_and_shrinks() {
        let dir = std::env::temp_dir().join(format!("den-hosts-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hosts");
        fs::write(&path, OWN).unwrap();
        use std::os::unix::fs::MetadataExt;
        let ino = fs::metadata(&path).unwrap().ino();
        let many: Vec<Member> = (2..9)
            .map(|i| m(&format!("10.1.0.{i}"), &format!("c{i}"), "0123456789abcdef"))
            .collect();
        rewrite(&path, "n", &block("n", &many)).unwrap();
        assert!(fs::read_to_string(&path).unwrap().contains("10.1.0.8\tc8"));
        rewrite(&path, "n", &block("n", &many[..1])).unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            format!("{OWN}# den: containers on network n\n10.1.0.2\tc2 0123456789ab\n")
        );
        assert_eq!(fs::metadata(&path).unwrap().ino(), ino);
        rewrite(&dir.join("missing"), "n", "x").unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }
}
