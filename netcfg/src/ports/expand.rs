//! [`PortSpec`]s -> concrete [`PortMapping`]s, refusing host ports that are taken.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::Ipv4Addr;

use super::host::HostPorts;
use super::{PortError, PortMapping, PortSpec, Proto};

/// Expands `specs` into concrete mappings: ranges expanded pairwise, `HOST_FIRST-HOST_LAST:PORT`
/// takes the first free host port of the range, missing host ports are picked at random from the
/// calling thread's netns' net.ipv4.ip_local_port_range. A host port is refused if the request
/// names it twice, if `published` (what den has published so far) already has it, or if a host
/// socket holds it (tcp: listening; udp: bound) — a socket or publish on 0.0.0.0/:: overlaps every
/// host address.
pub fn expand(
    specs: &[PortSpec],
    published: &(impl Published + ?Sized),
) -> Result<Vec<PortMapping>, PortError> {
    if specs.is_empty() {
        return Ok(Vec::new());
    }
    let host = HostPorts::read()?;
    let seed = RandomState::new().build_hasher().finish();
    expand_with(specs, published, &host, seed)
}

/// What den has published so far, asked one host port at a time (its store answers each from
/// one small directory; a list answers by a scan).
pub trait Published {
    /// A published mapping that claims `probe`'s host port, if there is one.
    fn conflicting(&self, probe: &PortMapping) -> Result<Option<PortMapping>, PortError>;
}

impl Published for [PortMapping] {
    fn conflicting(&self, probe: &PortMapping) -> Result<Option<PortMapping>, PortError> {
        Ok(self.iter().find(|m| m.conflicts_with(probe)).cloned())
    }
}

impl<const N: usize> Published for [PortMapping; N] {
    fn conflicting(&self, probe: &PortMapping) -> Result<Option<PortMapping>, PortError> {
        self.as_slice().conflicting(probe)
    }
}

/// Why a host port is unavailable, if it is.
enum Taken {
    Free,
    Duplicate,
    Published(PortMapping),
    Listener(std::net::IpAddr),
}

struct Claims<'a, P: ?Sized> {
    chosen: Vec<PortMapping>,
    published: &'a P,
    host: &'a HostPorts,
}

impl<P: Published + ?Sized> Claims<'_, P> {
    fn check(&self, proto: Proto, host_ip: Ipv4Addr, port: u16) -> Result<Taken, PortError> {
        let probe = PortMapping {
            host_ip,
            host_port: port,
            container_port: 0,
            proto,
        };
        if self.chosen.iter().any(|m| m.conflicts_with(&probe)) {
            return Ok(Taken::Duplicate);
        }
        if let Some(m) = self.published.conflicting(&probe)? {
            return Ok(Taken::Published(m));
        }
        Ok(match self.host.holder(proto, host_ip, port)? {
            Some(addr) => Taken::Listener(addr),
            None => Taken::Free,
        })
    }

    fn claim_fixed(
        &mut self,
        proto: Proto,
        host_ip: Ipv4Addr,
        port: u16,
        container_port: u16,
    ) -> Result<(), PortError> {
        match self.check(proto, host_ip, port)? {
            Taken::Free => {}
            Taken::Duplicate => {
                return Err(PortError::Duplicate {
                    host_ip,
                    port,
                    proto,
                })
            }
            Taken::Published(by) => return Err(PortError::AlreadyPublished { host_ip, by }),
            Taken::Listener(listener) => {
                return Err(PortError::InUse {
                    host_ip,
                    port,
                    proto,
                    listener,
                })
            }
        }
        self.chosen.push(PortMapping {
            host_ip,
            host_port: port,
            container_port,
            proto,
        });
        Ok(())
    }

    /// The first free port of `candidates`.
    fn claim_any(
        &mut self,
        proto: Proto,
        host_ip: Ipv4Addr,
        container_port: u16,
        (first, last): (u16, u16),
        candidates: impl Iterator<Item = u16>,
    ) -> Result<(), PortError> {
        for port in candidates {
            if let Taken::Free = self.check(proto, host_ip, port)? {
                self.chosen.push(PortMapping {
                    host_ip,
                    host_port: port,
                    container_port,
                    proto,
                });
                return Ok(());
            }
        }
        Err(PortError::NoFreePort {
            host_ip,
            container_port,
            proto,
            first,
            last,
        })
    }
}

/// [`expand`] against a given view of the host; `seed` picks where the random search starts.
pub(crate) fn expand_with(
    specs: &[PortSpec],
    published: &(impl Published + ?Sized),
    host: &HostPorts,
    seed: u64,
) -> Result<Vec<PortMapping>, PortError> {
    let mut claims = Claims {
        chosen: Vec::new(),
        published,
        host,
    };
    let mut seed = seed;
    for spec in specs {
        let host_ip = spec.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED);
        let (c0, c1) = spec.container_ports;
        match spec.host_ports {
            Some((h0, h1)) if c0 == c1 && h0 != h1 => {
                claims.claim_any(spec.proto, host_ip, c0, (h0, h1), h0..=h1)?;
            }
            Some((h0, _)) => {
                for (i, cport) in (c0..=c1).enumerate() {
                    claims.claim_fixed(spec.proto, host_ip, h0 + i as u16, cport)?;
                }
            }
            None => {
                let (lo, hi) = host.local_range;
                let len = u64::from(hi - lo) + 1;
                for cport in c0..=c1 {
                    // Start somewhere random, then walk the range (wrapping) to the first free port.
                    let start = seed % len;
                    seed = seed.rotate_left(17) ^ 0x9e37_79b9_7f4a_7c15;
                    let candidates = (0..len).map(|i| lo + ((start + i) % len) as u16);
                    claims.claim_any(spec.proto, host_ip, cport, (lo, hi), candidates)?;
                }
            }
        }
    }
    Ok(claims.chosen)
}
