//! The other end of every veth, across namespaces.
//!
//! A veth reports its peer's ifindex (IFLA_LINK) and, when the peer is in another namespace, that
//! namespace's id as *this* namespace numbers it (IFLA_LINK_NETNSID). Ifindexes repeat across
//! namespaces, so the peer is the veth at that index, in another namespace, whose own IFLA_LINK
//! points back at this one. When several namespaces have such a veth (possible, rarely), the
//! namespace id decides: RTM_GETNSID asks this namespace which id it gives each candidate.

use std::collections::HashMap;
use std::fs::File;
use std::os::fd::AsFd;

use super::dump::{self, Dump};
use super::model::Peer;
use crate::netlink::Netlink;

/// One namespace being looked at: its dump, its socket and an fd that refers to it.
pub struct Seen {
    pub inode: u64,
    pub file: File,
    pub nl: Netlink,
    pub dump: Dump,
}

/// Fills in `peer` of every veth in `seen`.
pub async fn resolve(seen: &mut [Seen]) {
    // ifindex -> (namespace position, link position) of every veth that has a peer elsewhere.
    let mut remote: HashMap<u32, Vec<(usize, usize)>> = HashMap::new();
    for (n, s) in seen.iter().enumerate() {
        for (l, link) in s.dump.links.iter().enumerate() {
            if link.netnsid.is_some() && link.peer.is_some() {
                remote.entry(link.link.index).or_default().push((n, l));
            }
        }
    }
    let mut found = Vec::new();
    for (n, s) in seen.iter().enumerate() {
        for (l, link) in s.dump.links.iter().enumerate() {
            if link.link.kind.as_deref() != Some("veth") {
                continue;
            }
            let Some(index) = link.peer else { continue };
            let peer = match link.netnsid {
                None => Peer {
                    index,
                    netns: Some(s.inode),
                    name: s
                        .dump
                        .links
                        .iter()
                        .find(|p| p.link.index == index)
                        .map(|p| p.link.name.clone()),
                    netnsid: None,
                },
                Some(id) => {
                    let candidates: Vec<(usize, usize)> = remote
                        .get(&index)
                        .into_iter()
                        .flatten()
                        .copied()
                        .filter(|&(m, p)| {
                            m != n && seen[m].dump.links[p].peer == Some(link.link.index)
                        })
                        .collect();
                    let at = pick(seen, n, id, &candidates).await;
                    Peer {
                        index,
                        netns: at.map(|(m, _)| seen[m].inode),
                        name: at.map(|(m, p)| seen[m].dump.links[p].link.name.clone()),
                        netnsid: Some(id),
                    }
                }
            };
            found.push((n, l, peer));
        }
    }
    for (n, l, peer) in found {
        seen[n].dump.links[l].link.peer = Some(peer);
    }
}

/// The one candidate, or among several the one namespace `n` numbers `id`.
async fn pick(
    seen: &[Seen],
    n: usize,
    id: i32,
    candidates: &[(usize, usize)],
) -> Option<(usize, usize)> {
    if let [one] = candidates {
        return Some(*one);
    }
    for &(m, p) in candidates {
        if let Ok(Some(got)) = dump::nsid(&seen[n].nl, seen[m].file.as_fd()).await {
            if got == id {
                return Some((m, p));
            }
        }
    }
    None
}
