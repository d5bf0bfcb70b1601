//! The container's side of an attachment and the cable to it: a netlink socket inside its netns
//! (IPv6 off there first), the veth pair with its peer born inside, then lo, the address, the
//! interface and the default route.

use std::net::Ipv4Addr;
use std::os::fd::BorrowedFd;

use super::{AttachError, Plan};
use crate::netlink::{mac_string, Netlink};
use crate::sysctl;
use crate::trace;

impl Plan {
    /// A netlink socket inside the container's netns. On the way in (on that netns's thread), IPv6
    /// is switched off for the interfaces made there from now on: den's networks are IPv4 only, and
    /// docker 26+ does the same for networks without IPv6. Otherwise the link-local address's DAD,
    /// MLD reports and router solicitations of every container are multicast the bridge floods to
    /// every port: work for all running containers at each start. Set on `default` before the veth
    /// peer is born there, so it never has IPv6 (switching it off on an existing interface costs
    /// ~2 ms for the first one in a netns); `--sysctl net.ipv6.conf.eth0.disable_ipv6=0` is applied
    /// later, by the container, and turns it back on.
    pub(super) fn open_inside(&self, netns: BorrowedFd<'_>) -> Result<Netlink, AttachError> {
        let key = "net.ipv6.conf.default.disable_ipv6";
        trace::step(|| format!("nsenter --net=<container> sysctl -w {key}=1"));
        let (nl, v6) = Netlink::open_in_after(netns, || sysctl::set(key, "1"))?;
        match v6 {
            Err(e) if e.is_missing() => {} // a kernel without IPv6
            r => r?,
        }
        Ok(nl)
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
