//! Links: look-up, listing, bridges, MTU, master, up, delete.

use netlink_packet_route::link::{self as nl, LinkAttribute, LinkFlags, LinkMessage};
use rtnetlink::{LinkBridge, LinkUnspec};

use super::naming::check_name;
use super::{collect, Cause, LinkInfo, Netlink, NetlinkError};

impl Netlink {
    /// Index of the link called `name` in this namespace, or `None` if there is none.
    pub async fn link_index(&self, name: &str) -> Result<Option<u32>, NetlinkError> {
        Ok(self.link_by_name(name).await?.map(|l| l.index))
    }

    /// The link called `name`, or `None` if there is none.
    pub async fn link_by_name(&self, name: &str) -> Result<Option<LinkInfo>, NetlinkError> {
        check_name(name).map_err(|reason| NetlinkError::InvalidName {
            name: name.into(),
            reason,
        })?;
        let request = self.handle.link().get().match_name(name).execute();
        match collect(request).await {
            Ok(messages) => Ok(messages.first().map(link_info)),
            Err(e) if e.errno() == Some(libc::ENODEV) => Ok(None),
            Err(source) => Err(NetlinkError::LookupName {
                name: name.into(),
                source,
            }),
        }
    }

    /// The link with index `index` (ENODEV if there is none).
    pub async fn link(&self, index: u32) -> Result<LinkInfo, NetlinkError> {
        let request = self.handle.link().get().match_index(index).execute();
        let err = |source| NetlinkError::GetLink { index, source };
        let messages = collect(request).await.map_err(err)?;
        messages
            .first()
            .map(link_info)
            .ok_or(err(Cause::Missing("link message")))
    }

    /// Creates bridge `name` if missing and brings it up; sets its MTU when `mtu` is given and differs.
    /// A bridge it creates gets `mac` as its own address, if given: without one the kernel gives it the
    /// lowest of its ports' MACs (none with no port), which changes as ports come and go.
    /// Returns the bridge's index and whether this call created it. A non-bridge link of that name is an error.
    pub async fn ensure_bridge(
        &self,
        name: &str,
        mtu: Option<u32>,
        mac: Option<[u8; 6]>,
    ) -> Result<(u32, bool), NetlinkError> {
        let (link, created) = match self.link_by_name(name).await? {
            Some(link) => (link, false),
            None => {
                let mut builder = LinkBridge::new(name);
                if let Some(mtu) = mtu {
                    builder = builder.mtu(mtu);
                }
                if let Some(mac) = mac {
                    builder = builder.address(mac.to_vec());
                }
                let added = self
                    .handle
                    .link()
                    .add(builder.build())
                    .execute()
                    .await
                    .map_err(Cause::from);
                let created = match added {
                    Ok(()) => true,
                    // Another den created it between our look-up and our request: fine, it is there now.
                    Err(e) if e.errno() == Some(libc::EEXIST) => false,
                    Err(source) => {
                        return Err(NetlinkError::CreateBridge {
                            name: name.into(),
                            source,
                        })
                    }
                };
                let link =
                    self.link_by_name(name)
                        .await?
                        .ok_or_else(|| NetlinkError::CreateBridge {
                            name: name.into(),
                            source: Cause::Kernel(std::io::Error::from_raw_os_error(libc::ENODEV)),
                        })?;
                (link, created)
            }
        };
        if link.kind.as_deref() != Some("bridge") {
            return Err(NetlinkError::NotABridge {
                name: name.into(),
                kind: link.kind,
            });
        }
        if let Some(mtu) = mtu.filter(|m| link.mtu != Some(*m)) {
            self.set_mtu(link.index, mtu).await?;
        }
        if !link.up {
            self.set_up(link.index).await?;
        }
        Ok((link.index, created))
    }

    /// Sets the MTU of link `index`.
    pub async fn set_mtu(&self, index: u32, mtu: u32) -> Result<(), NetlinkError> {
        let message = LinkUnspec::new_with_index(index).mtu(mtu).build();
        let result = self.handle.link().set(message).execute().await;
        result.map_err(|e| NetlinkError::SetMtu {
            index,
            mtu,
            source: e.into(),
        })
    }

    /// MTU of link `index`.
    pub async fn link_mtu(&self, index: u32) -> Result<u32, NetlinkError> {
        let link = self.link(index).await?;
        link.mtu.ok_or(NetlinkError::GetLink {
            index,
            source: Cause::Missing("IFLA_MTU"),
        })
    }

    /// Hardware address of link `index`.
    pub async fn link_mac(&self, index: u32) -> Result<[u8; 6], NetlinkError> {
        let link = self.link(index).await?;
        link.mac.ok_or(NetlinkError::GetLink {
            index,
            source: Cause::Missing("6-byte IFLA_ADDRESS"),
        })
    }

    /// Enslaves link `index` to bridge `master`.
    pub async fn set_master(&self, index: u32, master: u32) -> Result<(), NetlinkError> {
        let message = LinkUnspec::new_with_index(index).controller(master).build();
        let result = self.handle.link().set(message).execute().await;
        result.map_err(|e| NetlinkError::SetMaster {
            index,
            master,
            source: e.into(),
        })
    }

    /// Brings link `index` up.
    pub async fn set_up(&self, index: u32) -> Result<(), NetlinkError> {
        let message = LinkUnspec::new_with_index(index).up().build();
        let result = self.handle.link().set(message).execute().await;
        result.map_err(|e| NetlinkError::SetUp {
            index,
            source: e.into(),
        })
    }

    /// Deletes link `index` (for a veth, both ends go). A missing link keeps its `ENODEV`.
    pub async fn delete_link(&self, index: u32) -> Result<(), NetlinkError> {
        let result = self.handle.link().del(index).execute().await;
        result.map_err(|e| NetlinkError::DeleteLink {
            index,
            source: e.into(),
        })
    }

    /// All links of this namespace.
    pub async fn links(&self) -> Result<Vec<LinkInfo>, NetlinkError> {
        let messages = collect(self.handle.link().get().execute())
            .await
            .map_err(NetlinkError::ListLinks)?;
        Ok(messages.iter().map(link_info).collect())
    }
}

fn link_info(message: &LinkMessage) -> LinkInfo {
    let mut info = LinkInfo {
        index: message.header.index,
        name: String::new(),
        kind: None,
        master: None,
        up: message.header.flags.contains(LinkFlags::Up),
        mac: None,
        mtu: None,
    };
    for attribute in &message.attributes {
        match attribute {
            LinkAttribute::IfName(name) => info.name.clone_from(name),
            LinkAttribute::Controller(master) if *master != 0 => info.master = Some(*master),
            LinkAttribute::Mtu(mtu) => info.mtu = Some(*mtu),
            LinkAttribute::Address(mac) => info.mac = <[u8; 6]>::try_from(mac.as_slice()).ok(),
            LinkAttribute::LinkInfo(infos) => {
                for link_info in infos {
                    if let nl::LinkInfo::Kind(kind) = link_info {
                        info.kind = Some(kind.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    info
}
