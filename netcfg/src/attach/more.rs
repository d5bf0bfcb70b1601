//! The plan's options for `den run --mac-address` and `den network connect`.

use super::{AttachError, Plan};

impl Plan {
    /// Give the interface inside this MAC address (`--mac-address`) instead of one made from its IP.
    pub fn with_mac(mut self, mac: [u8; 6]) -> Plan {
        self.mac = Some(mac);
        self
    }

    /// The container's `n`th network (`den network connect`, n >= 1): the interface inside is
    /// `eth<n>`, the host veth [`crate::gc::host_veth_name_nth`], and the first network keeps the
    /// default route. Published ports are refused (docker's connect publishes none).
    pub fn nth_network(mut self, n: u8) -> Result<Plan, AttachError> {
        if !self.publish.is_empty() {
            return Err(AttachError::PublishOnConnect(self.network.name.clone()));
        }
        self.ifname = format!("eth{n}");
        self.nth = n;
        Ok(self)
    }
}
