//! Published ports: `-p` arguments as the user wrote them ([`PortSpec`]) and the concrete host
//! port -> container port mappings they expand to ([`PortMapping`], [`expand`]).
//!
//! Accepted `-p` forms (IPv4 host addresses only):
//!
//! | `-p`                 | meaning                                                          |
//! |----------------------|------------------------------------------------------------------|
//! | `80`                 | container port 80 on a random host port, all host addresses      |
//! | `8080:80`            | host port 8080 -> container port 80 (tcp)                        |
//! | `8080:80/udp`        | the same for udp                                                 |
//! | `127.0.0.1:8080:80`  | only on host address 127.0.0.1                                   |
//! | `127.0.0.1::80`      | random host port on 127.0.0.1                                    |
//! | `8000-8001:80-81`    | ranges of equal length, pairwise                                 |
//! | `8000-8010:80`       | docker's semantics: the first free host port of 8000-8010 -> 80  |
//! | `80-81`              | each container port on its own random host port                  |

mod error;
mod expand;
mod host;
mod parse;

use std::fmt;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

pub use error::{PortError, SpecProblem};
pub use expand::{expand, Published};

/// A transport protocol that can be published.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    /// The name nft and docker use: `tcp` / `udp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `-p` argument as the user wrote it (see the module docs for the forms).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortSpec {
    /// `None`: all host addresses.
    pub host_ip: Option<Ipv4Addr>,
    /// `None`: random host port(s). Inclusive range; a single port is `(p, p)`.
    pub host_ports: Option<(u16, u16)>,
    /// Inclusive range; a single port is `(p, p)`.
    pub container_ports: (u16, u16),
    pub proto: Proto,
}

impl std::str::FromStr for PortSpec {
    type Err = PortError;

    fn from_str(s: &str) -> Result<Self, PortError> {
        parse::parse(s).map_err(|problem| PortError::Invalid {
            spec: s.to_string(),
            problem,
        })
    }
}

fn fmt_range(f: &mut fmt::Formatter<'_>, (a, b): (u16, u16)) -> fmt::Result {
    if a == b {
        write!(f, "{a}")
    } else {
        write!(f, "{a}-{b}")
    }
}

/// The canonical `-p` form, e.g. `127.0.0.1::80/tcp`, `8000-8001:80-81/udp`.
impl fmt::Display for PortSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(ip) = self.host_ip {
            write!(f, "{ip}:")?;
        }
        match self.host_ports {
            Some(range) => {
                fmt_range(f, range)?;
                f.write_str(":")?;
            }
            None if self.host_ip.is_some() => f.write_str(":")?,
            None => {}
        }
        fmt_range(f, self.container_ports)?;
        write!(f, "/{}", self.proto)
    }
}

/// One published host port -> container port.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PortMapping {
    /// 0.0.0.0 = all host addresses.
    pub host_ip: Ipv4Addr,
    pub host_port: u16,
    pub container_port: u16,
    pub proto: Proto,
}

impl PortMapping {
    /// Whether `self` and `other` claim the same host port: same protocol and port, and host
    /// addresses that overlap (equal, or either is 0.0.0.0).
    pub fn conflicts_with(&self, other: &PortMapping) -> bool {
        self.proto == other.proto
            && self.host_port == other.host_port
            && ips_overlap(self.host_ip, other.host_ip)
    }

    /// The `-p` argument that publishes exactly this mapping, e.g. `8080:80/tcp`,
    /// `127.0.0.1:8080:80/udp`.
    pub fn to_spec_string(&self) -> String {
        let ip = if self.host_ip.is_unspecified() {
            String::new()
        } else {
            format!("{}:", self.host_ip)
        };
        format!(
            "{ip}{}:{}/{}",
            self.host_port, self.container_port, self.proto
        )
    }
}

/// Docker style: `0.0.0.0:8080->80/tcp`.
impl fmt::Display for PortMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}->{}/{}",
            self.host_ip, self.host_port, self.container_port, self.proto
        )
    }
}

/// Two host addresses overlap if they are equal or either is 0.0.0.0 (all addresses).
pub(crate) fn ips_overlap(a: Ipv4Addr, b: Ipv4Addr) -> bool {
    a == b || a.is_unspecified() || b.is_unspecified()
}
