//! Dropping privileges in runc's order: bounding set first (needs CAP_SETPCAP), keep-caps across
//! the uid change, setgroups/setgid/setuid, then effective/permitted/inheritable and ambient.
//!
//! The sets are computed before the clone; in the child the `caps` crate only issues
//! prctl/capset calls on them (it allocates only to build an error message).

use std::str::FromStr;

use caps::{CapSet, Capability as Cap, CapsHashSet};
use nix::errno::Errno;
use nix::sys::prctl;
use oci_spec::runtime::{Capabilities, LinuxCapabilities, User};

use super::sync::{Failure, Step};
use super::ProcessError;
use crate::syscall;

pub struct IdsPlan {
    pub uid: libc::uid_t,
    pub gid: libc::gid_t,
    groups: Vec<libc::gid_t>,
}

impl IdsPlan {
    pub fn new(user: &User) -> IdsPlan {
        let groups = user.additional_gids().clone().unwrap_or_default();
        IdsPlan {
            uid: user.uid(),
            gid: user.gid(),
            groups,
        }
    }
}

pub struct CapsPlan {
    drop_bounding: Vec<Cap>,
    effective: CapsHashSet,
    permitted: CapsHashSet,
    inheritable: CapsHashSet,
    ambient: Vec<Cap>,
}

fn convert(set: &Option<Capabilities>) -> Result<CapsHashSet, ProcessError> {
    set.iter()
        .flatten()
        .map(|c| {
            let name = format!("CAP_{c}");
            Cap::from_str(&name).map_err(|_| ProcessError::Invalid {
                what: "capability",
                value: name,
            })
        })
        .collect()
}

impl CapsPlan {
    /// No `capabilities` in the spec means no capabilities at all.
    pub fn new(spec: Option<&LinuxCapabilities>) -> Result<CapsPlan, ProcessError> {
        let (bounding, effective, permitted, inheritable, ambient) = match spec {
            Some(c) => (
                convert(c.bounding())?,
                convert(c.effective())?,
                convert(c.permitted())?,
                convert(c.inheritable())?,
                convert(c.ambient())?,
            ),
            None => Default::default(),
        };
        if !effective.is_subset(&permitted) {
            return Err(ProcessError::Invalid {
                what: "capabilities (effective must be a subset of permitted)",
                value: format!("{effective:?}"),
            });
        }
        let supported = caps::runtime::procfs_all_supported(None)
            .unwrap_or_else(|_| caps::runtime::thread_all_supported());
        let mut drop_bounding: Vec<Cap> = supported.difference(&bounding).copied().collect();
        drop_bounding.sort_by_key(|c| c.index());
        // The kernel raises an ambient capability only if it is permitted and inheritable; runc
        // skips the others (podman's and containerd's specs list ambient without inheritable).
        let mut ambient: Vec<Cap> = ambient
            .into_iter()
            .filter(|c| permitted.contains(c) && inheritable.contains(c))
            .collect();
        ambient.sort_by_key(|c| c.index());
        Ok(CapsPlan {
            drop_bounding,
            effective,
            permitted,
            inheritable,
            ambient,
        })
    }
}

/// errno after a failed `caps` call (the crate keeps only a message).
fn caps_errno(step: Step) -> impl Fn(caps::errors::CapsError) -> Failure {
    move |_| Failure::new(step, Errno::last())
}

/// In the child, after pivot_root: drop privileges.
pub fn apply(ids: &IdsPlan, plan: &CapsPlan) -> Result<(), Failure> {
    for (i, cap) in plan.drop_bounding.iter().enumerate() {
        caps::drop(None, CapSet::Bounding, *cap)
            .map_err(|_| Failure::at(Step::BoundingSet, i, Errno::last()))?;
    }
    prctl::set_keepcaps(true).map_err(|e| Failure::new(Step::KeepCaps, e))?;
    syscall::set_groups(&ids.groups).map_err(|e| Failure::new(Step::Setgroups, e))?;
    syscall::set_gid(ids.gid).map_err(|e| Failure::new(Step::Setgid, e))?;
    syscall::set_uid(ids.uid).map_err(|e| Failure::new(Step::Setuid, e))?;
    prctl::set_keepcaps(false).map_err(|e| Failure::new(Step::KeepCaps, e))?;
    // Effective first: it must stay within permitted at every capset.
    caps::set(None, CapSet::Effective, &plan.effective).map_err(caps_errno(Step::Capabilities))?;
    caps::set(None, CapSet::Permitted, &plan.permitted).map_err(caps_errno(Step::Capabilities))?;
    caps::set(None, CapSet::Inheritable, &plan.inheritable)
        .map_err(caps_errno(Step::Capabilities))?;
    caps::clear(None, CapSet::Ambient).map_err(caps_errno(Step::Capabilities))?;
    for cap in &plan.ambient {
        caps::raise(None, CapSet::Ambient, *cap).map_err(caps_errno(Step::Capabilities))?;
    }
    Ok(())
}

/// The name of the capability a BoundingSet failure at `index` refers to.
pub fn bounding_name(plan: &CapsPlan, index: u32) -> String {
    plan.drop_bounding
        .get(index as usize)
        .map_or_else(String::new, |c| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{Capability, LinuxCapabilitiesBuilder};

    #[test]
    fn sets_convert_and_the_rest_of_bounding_is_dropped() {
        let set: Capabilities = [Capability::Chown, Capability::NetBindService]
            .into_iter()
            .collect();
        let spec = LinuxCapabilitiesBuilder::default()
            .bounding(set.clone())
            .effective(set.clone())
            .permitted(set)
            .inheritable(Capabilities::new())
            .ambient(Capabilities::new())
            .build()
            .expect("caps");
        let plan = CapsPlan::new(Some(&spec)).expect("plan");
        assert_eq!(
            plan.effective,
            [Cap::CAP_CHOWN, Cap::CAP_NET_BIND_SERVICE]
                .into_iter()
                .collect()
        );
        assert!(plan.inheritable.is_empty() && plan.ambient.is_empty());
        assert!(plan.drop_bounding.contains(&Cap::CAP_SYS_ADMIN));
        assert!(!plan.drop_bounding.contains(&Cap::CAP_CHOWN));
        let none = CapsPlan::new(None).expect("plan");
        assert!(none.permitted.is_empty() && none.drop_bounding.contains(&Cap::CAP_CHOWN));
    }

    #[test]
    fn effective_outside_permitted_is_refused() {
        let spec = LinuxCapabilitiesBuilder::default()
            .effective([Capability::Kill].into_iter().collect::<Capabilities>())
            .permitted(Capabilities::new())
            .build()
            .expect("caps");
        assert!(CapsPlan::new(Some(&spec)).is_err());
    }
}
