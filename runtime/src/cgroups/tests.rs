use super::*;
use detect::V1Hierarchy;

#[test]
fn relative_paths_nest_under_own_cgroup_per_hierarchy_and_absolute_from_the_root() {
    let hierarchies = vec![
        V1Hierarchy {
            controllers: vec!["memory".into()],
            mount: "/sys/fs/cgroup/memory".into(),
            own: "/job/1".into(),
        },
        V1Hierarchy {
            controllers: vec!["devices".into()],
            mount: "/sys/fs/cgroup/devices".into(),
            own: "/".into(),
        },
    ];
    let layout = Layout::V1 {
        hierarchies: hierarchies.clone(),
        unified: None,
    };
    let p = Planned::new(&layout, "den/den-abc").expect("plan");
    assert_eq!(
        p.dirs,
        [
            PathBuf::from("/sys/fs/cgroup/memory/job/1/den/den-abc"),
            PathBuf::from("/sys/fs/cgroup/devices/den/den-abc")
        ]
    );
    assert_eq!(
        p.devices,
        Some(PathBuf::from("/sys/fs/cgroup/devices/den/den-abc"))
    );
    let abs = Planned::new(&layout, "/den/den-abc").expect("plan");
    assert_eq!(abs.dirs[0], Path::new("/sys/fs/cgroup/memory/den/den-abc"));
    assert!(matches!(
        Planned::new(&layout, "a/../../x"),
        Err(CgroupError::BadParent(_))
    ));
}

#[test]
fn device_rules_go_to_a_program_on_v2_and_on_hybrid_with_a_unified_dir() {
    let v2 = Layout::V2 {
        mount: "/sys/fs/cgroup".into(),
        own: "/user.slice".into(),
    };
    let p = Planned::new(&v2, "den/den-abc").expect("plan");
    assert_eq!(
        p.bpf.as_deref(),
        Some(Path::new("/sys/fs/cgroup/user.slice/den/den-abc"))
    );
    assert!(p.device_control() && p.devices.is_none());
    let hybrid = Layout::V1 {
        hierarchies: vec![V1Hierarchy {
            controllers: vec!["devices".into()],
            mount: "/sys/fs/cgroup/devices".into(),
            own: "/".into(),
        }],
        unified: Some(detect::Unified {
            mount: "/sys/fs/cgroup/unified".into(),
            own: "/".into(),
        }),
    };
    let p = Planned::new(&hybrid, "den/den-abc").expect("plan");
    let dir = PathBuf::from("/sys/fs/cgroup/unified/den/den-abc");
    assert_eq!(p.bpf.as_ref(), Some(&dir));
    assert!(p.dirs.contains(&dir) && p.devices.is_none(), "{p:?}");
}
