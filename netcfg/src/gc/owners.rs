//! Whose is a network object: the id set the runtime hands over, and the owner each object names.

use std::collections::BTreeSet;

use crate::netlink::random_veth_name;

/// How many hex digits of the container id a host veth name carries (`veth` + 11 = 15 bytes).
pub const VETH_ID_DIGITS: usize = 11;

/// A set of container ids (full), matched by prefix.
#[derive(Debug, Default, Clone)]
pub struct IdSet {
    ids: BTreeSet<String>,
}

impl IdSet {
    pub fn new(ids: impl IntoIterator<Item = String>) -> Self {
        IdSet {
            ids: ids.into_iter().collect(),
        }
    }

    pub fn extend(&mut self, ids: impl IntoIterator<Item = String>) {
        self.ids.extend(ids);
    }

    /// Is some id `owner`, or does one start with it (the 11 or 12 digits kept in names and
    /// comments)?
    pub fn has(&self, owner: &str) -> bool {
        self.ids
            .range(owner.to_string()..)
            .next()
            .is_some_and(|id| id.starts_with(owner))
    }
}

/// Whose objects [`super::sweep`] may remove: those of a `known` container of this state root
/// (it has a directory there; lease and port owners are added by the sweep) that is not `live`.
#[derive(Debug, Default, Clone)]
pub struct Owners {
    /// Containers that are, or may be, running or being set up: never touched.
    pub live: IdSet,
    /// Every container of this state root.
    pub known: IdSet,
}

impl Owners {
    pub(super) fn dead(&self, owner: &str) -> bool {
        self.known.has(owner) && !self.live.has(owner)
    }
}

/// The host-side veth name of a container: `veth` + the first 11 hex digits of its id, so the
/// link names its owner from the moment it exists. An id that is not hex (never one den makes)
/// gets a random name, which [`super::sweep`] never claims.
pub fn host_veth_name(container_id: &str) -> String {
    match container_id.get(..VETH_ID_DIGITS) {
        Some(prefix) if is_lower_hex(prefix) => format!("veth{prefix}"),
        _ => random_veth_name(),
    }
}

/// The host veth of a container's `n`th network (`den network connect`, 1..=9): `vet<n>` + the
/// same 11 hex digits as [`host_veth_name`], so gc tells its owner the same way.
pub fn host_veth_name_nth(container_id: &str, n: u8) -> String {
    match container_id.get(..VETH_ID_DIGITS) {
        Some(prefix) if is_lower_hex(prefix) && (1..=9).contains(&n) => format!("vet{n}{prefix}"),
        _ => random_veth_name(),
    }
}

/// The id prefix a host veth name made by [`host_veth_name`] or [`host_veth_name_nth`] carries.
pub fn veth_owner(name: &str) -> Option<&str> {
    name.strip_prefix("veth")
        .or_else(|| {
            name.strip_prefix("vet")
                .and_then(|r| r.strip_prefix(|c: char| ('1'..='9').contains(&c)))
        })
        .filter(|p| p.len() == VETH_ID_DIGITS && is_lower_hex(p))
}

/// The 12-digit id in a published-map element's comment (`den: container NAME (ID12) -p SPEC`).
/// Names never hold parentheses, so the last ` (` before `) -p ` opens the id.
pub fn element_owner(comment: &str) -> Option<&str> {
    let head = comment.strip_prefix("den: container ")?;
    let head = &head[..head.find(") -p ")?];
    let id = &head[head.rfind(" (")? + 2..];
    (id.len() == 12 && is_lower_hex(id)).then_some(id)
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::PortMapping;

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn veth_name_carries_the_owner() {
        let name = host_veth_name(ID);
        assert_eq!(name, "veth0123456789a");
        assert!(name.len() <= 15);
        assert_eq!(veth_owner(&name), Some("0123456789a"));
        let second = host_veth_name_nth(ID, 1);
        assert_eq!(second, "vet10123456789a");
        assert_eq!(veth_owner(&second), Some("0123456789a"));
        assert_eq!(veth_owner("vet00123456789a"), None);
        assert!(IdSet::new([ID.to_string()]).has(veth_owner(&name).unwrap()));
    }

    #[test]
    fn foreign_veths_have_no_owner() {
        assert_eq!(veth_owner("veth1a2b3c4"), None, "docker's 7 digits");
        assert_eq!(veth_owner("veth0123456789A"), None);
        assert_eq!(veth_owner("eth0"), None);
        assert_eq!(veth_owner(&host_veth_name("not-an-id")), None);
    }

    fn mapping(host_ip: &str, proto: crate::Proto) -> PortMapping {
        PortMapping {
            host_ip: host_ip.parse().unwrap(),
            host_port: 8080,
            container_port: 80,
            proto,
        }
    }

    #[test]
    fn element_comment_names_the_owner() {
        let m = mapping("127.0.0.1", crate::Proto::Udp);
        let c = crate::firewall::rules::container_comment("web.1-x", ID, &m);
        assert_eq!(element_owner(&c), Some("0123456789ab"), "{c}");
        assert_eq!(element_owner("den: container x (abc) -p 1:1/tcp"), None);
        assert_eq!(element_owner("den: network bridge (den0)"), None);
        assert_eq!(element_owner(""), None);
    }

    #[test]
    fn a_long_name_is_cut_but_the_owner_stays() {
        let m = mapping("0.0.0.0", crate::Proto::Tcp);
        let c = crate::firewall::rules::container_comment(&"n".repeat(128), ID, &m);
        assert_eq!(element_owner(&c), Some("0123456789ab"), "{c}");
    }

    #[test]
    fn ids_match_by_prefix() {
        let ids = IdSet::new([ID.to_string(), "ff".repeat(32)]);
        assert!(ids.has("0123456789ab"));
        assert!(ids.has(ID));
        assert!(!ids.has("0123456789ac"));
        assert!(!ids.has("123456789abc"));
        assert!(!IdSet::default().has("0123456789ab"));
    }

    #[test]
    fn only_known_owners_that_are_not_live_are_dead() {
        let other = "ab".repeat(32);
        let owners = Owners {
            live: IdSet::new([ID.to_string()]),
            known: IdSet::new([ID.to_string(), other.clone()]),
        };
        assert!(!owners.dead("0123456789ab"), "live");
        assert!(owners.dead(&other[..12]), "known, not live");
        assert!(!owners.dead("cdcdcdcdcdcd"), "another state root's");
    }
}
