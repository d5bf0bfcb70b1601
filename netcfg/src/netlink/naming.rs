//! Names and hardware addresses for the links den creates.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::Ipv4Addr;
use std::time::{SystemTime, UNIX_EPOCH};

/// A fresh host-side veth name: "veth" + 7 lowercase hex digits, like docker's.
///
/// The randomness comes from std's per-process OS-seeded hasher keys (no syscall that could fail); names only
/// need to be unlikely to collide, and a collision is reported by the kernel as `EEXIST` anyway.
pub fn random_veth_name() -> String {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(nanos);
    format!("veth{:07x}", hasher.finish() & 0x0fff_ffff)
}

/// The MAC docker gives a container: 02:42 followed by the four bytes of its IPv4 address
/// (172.20.0.2 -> 02:42:ac:14:00:02). Locally administered and unicast.
pub fn mac_from_ip(ip: Ipv4Addr) -> [u8; 6] {
    let [a, b, c, d] = ip.octets();
    [0x02, 0x42, a, b, c, d]
}

/// `02:42:ac:14:00:02`, as `ip link` prints a MAC.
pub fn mac_string(mac: [u8; 6]) -> String {
    mac.map(|b| format!("{b:02x}")).join(":")
}

/// Checks an interface name the way the kernel will (`dev_valid_name`), so the error names the culprit.
pub fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("empty");
    }
    if name.len() > 15 {
        return Err("longer than 15 bytes");
    }
    if name == "." || name == ".." {
        return Err("reserved");
    }
    if name
        .chars()
        .any(|c| c == '/' || c == ':' || c.is_whitespace())
    {
        return Err("contains '/', ':' or whitespace");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn veth_names_look_like_dockers_and_differ() {
        let a = random_veth_name();
        let b = random_veth_name();
        assert_eq!(a.len(), 11, "{a}");
        assert!(
            a.starts_with("veth")
                && a[4..]
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(a, b);
    }

    #[test]
    fn mac_follows_the_address() {
        assert_eq!(
            mac_from_ip(Ipv4Addr::new(172, 20, 0, 2)),
            [0x02, 0x42, 0xac, 0x14, 0x00, 0x02]
        );
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("den0").is_ok());
        assert!(check_name("eth0").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("a-name-too-long-x").is_err());
        assert!(check_name("a/b").is_err());
        assert!(check_name("a b").is_err());
    }
}
