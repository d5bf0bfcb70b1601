//! The container's side of an attachment and the cable to it: a netlink socket inside its netns
//! (IPv6 off there first), the veth pair with its peer born inside, then lo, the address, the
//! interface and the default route.

use std::net::Ipv4Addr;
use std::os::fd::BorrowedFd;

use super::{AttachError, Plan};
use crate::netlink::{mac_string, run_in_netns, Netlink};
use crate::sysctl;
use crate::trace;

/// What a new interface in a netns starts with.
const DEFAULT_V6: &str = "net.ipv6.conf.default.disable_ipv6";

impl Plan {
    /// A netlink socket inside the container's netns. On the way in (on that netns's thread), IPv6
    /// is switched off for the interface about to be made there: den's networks are IPv4 only, and
    /// docker 26+ does the same for networks without IPv6. Otherwise the link-local address's DAD,
    /// MLD reports and router solicitations of every container are multicast the bridge floods to
    /// every port: work for all running containers at each start. It is set on `default` before
    /// the veth peer is born there, so the peer never has IPv6 (switching it off on an existing
    /// interface costs ~2 ms for the first one in a netns), and `default` is put back by
    /// [`Plan::restore_default_v6`] once the peer exists: another CNI plugin's interface in the same
    /// netns keeps the kernel's default. `--sysctl net.ipv6.conf.eth0.disable_ipv6=0` is applied
    /// later, by the container, and turns it back on. Returns the value to put back, if changed.
    pub(super) fn open_inside(
        &self,
        netns: BorrowedFd<'_>,
    ) -> Result<(Netlink, Option<String>), AttachError> {
        trace::step(|| format!("nsenter --net=<container> sysctl -w {DEFAULT_V6}=1"));
        let (nl, was) = Netlink::open_in_after(netns, || match sysctl::replace(DEFAULT_V6, "1") {
            Err(e) if e.is_missing() => Ok(None), // a kernel without IPv6
            r => r,
        })?;
        Ok((nl, was?))
    }

    /// `default.disable_ipv6` of the container's netns back to `was` (see [`Plan::open_inside`]).
    pub(super) fn restore_default_v6(
        &self,
        netns: BorrowedFd<'_>,
        was: Option<String>,
    ) -> Result<(), AttachError> {
        let Some(was) = was else {
            return Ok(());
        };
        trace::step(|| format!("nsenter --net=<container> sysctl -w {DEFAULT_V6}={was}"));
        run_in_netns(netns, || sysctl::set(DEFAULT_V6, &was))??;
        Ok(())
    }

    /// The host end is named for its container (`veth` + 11 digits of the id, [`crate::gc::host_veth_name`]),
    /// so `den gc` can tell whose it is; the peer is born inside the container netns as `eth0`.
    pub(super) async fn create_veth(
        &self,
        host: &Netlink,
        netns: BorrowedFd<'_>,
        mtu: u32,
        mac: [u8; 6],
    ) -> Result<(String, u32), AttachError> {
        let name = match self.nth {
            0 => crate::gc::host_veth_name(&self.container_id),
            n => crate::gc::host_veth_name_nth(&self.container_id, n),
        };
        trace::step(|| {
            format!(
                "ip link add {name} mtu {mtu} type veth peer name {} netns <container> address {}",
                self.ifname,
                mac_string(mac)
            )
        });
        let index = host
            .create_veth(&name, &self.ifname, netns, mtu, Some(mac))
            .await?;
        Ok((name, index))
    }

    pub(super) async fn configure_inside(
        &self,
        nl: &Netlink,
        ip: Ipv4Addr,
    ) -> Result<(), AttachError> {
        let net = &self.network;
        let addr = ipnet::Ipv4Net::new(ip, net.subnet.prefix_len()).expect("valid prefix");
        for name in ["lo", self.ifname.as_str()] {
            let index = nl
                .link_index(name)
                .await?
                .ok_or_else(|| AttachError::MissingLink(name.into()))?;
            if name == self.ifname {
                trace::step(|| format!("ip -n <container> addr add {addr} dev {name}"));
                nl.add_address(index, addr).await?;
            }
            trace::step(|| format!("ip -n <container> link set {name} up"));
            nl.set_up(index).await?;
        }
        if !net.internal && self.nth == 0 {
            trace::step(|| format!("ip -n <container> route add default via {}", net.gateway));
            nl.add_default_route(net.gateway).await?;
        }
        Ok(())
    }
}
