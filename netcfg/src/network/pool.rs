//! The subnets `den network create` picks from when it is given none: docker's default address pools,
//! 172.17.0.0/16 ... 172.31.0.0/16, then 192.168.0.0/20 ... 192.168.240.0/20, in that order. The first
//! one that overlaps neither another den network (the default `bridge` holds 172.20.0.0/16) nor a route
//! the host already has is taken.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// Every subnet of the pool, in the order they are tried.
pub fn candidates() -> impl Iterator<Item = Ipv4Net> {
    let b = (17..=31).map(|o| Ipv4Net::new(Ipv4Addr::new(172, o, 0, 0), 16));
    let c = (0..16).map(|i| Ipv4Net::new(Ipv4Addr::new(192, 168, i * 16, 0), 20));
    b.chain(c).map(|n| n.expect("valid prefix length"))
}

/// Whether two subnets share an address.
pub fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The first pool subnet that overlaps none of `taken`.
pub fn pick(taken: &[Ipv4Net]) -> Option<Ipv4Net> {
    candidates().find(|c| !taken.iter().any(|t| overlaps(c, t)))
}

/// The first host address of a subnet (docker's default gateway), `None` if it has no room for a
/// gateway and one container (smaller than /30).
pub fn first_host(subnet: Ipv4Net) -> Option<Ipv4Addr> {
    (subnet.prefix_len() <= 30).then(|| Ipv4Addr::from(u32::from(subnet.network()) + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn pool_is_dockers() {
        let all: Vec<Ipv4Net> = candidates().collect();
        assert_eq!(all.len(), 15 + 16);
        assert_eq!(all[0], net("172.17.0.0/16"));
        assert_eq!(all[14], net("172.31.0.0/16"));
        assert_eq!(all[15], net("192.168.0.0/20"));
        assert_eq!(all[30], net("192.168.240.0/20"));
    }

    #[test]
    fn picks_the_first_free_subnet() {
        assert_eq!(pick(&[]), Some(net("172.17.0.0/16")));
        // The default bridge and a host route inside 172.17/16 push it on.
        let taken = [
            net("172.20.0.0/16"),
            net("172.17.3.0/24"),
            net("172.18.0.0/15"),
        ];
        assert_eq!(pick(&taken), Some(net("172.21.0.0/16")));
        // A wide route covers the whole 172.16/12 block: on to 192.168.
        let taken = [net("172.16.0.0/12"), net("192.168.0.0/24")];
        assert_eq!(pick(&taken), Some(net("192.168.16.0/20")));
        assert_eq!(pick(&[net("0.0.0.0/1"), net("128.0.0.0/1")]), None);
    }

    #[test]
    fn overlap_is_symmetric_and_exact() {
        assert!(overlaps(&net("10.0.0.0/8"), &net("10.1.2.0/24")));
        assert!(overlaps(&net("10.1.2.0/24"), &net("10.0.0.0/8")));
        assert!(!overlaps(&net("10.1.2.0/24"), &net("10.1.3.0/24")));
    }

    #[test]
    fn gateways() {
        assert_eq!(
            first_host(net("172.18.0.0/16")),
            Some(Ipv4Addr::new(172, 18, 0, 1))
        );
        assert_eq!(
            first_host(net("10.0.0.4/30")),
            Some(Ipv4Addr::new(10, 0, 0, 5))
        );
        assert_eq!(first_host(net("10.0.0.4/31")), None);
    }
}
