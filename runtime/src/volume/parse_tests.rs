use super::*;

#[test]
fn v_tells_binds_named_and_anonymous_volumes_apart() {
    let b = parse_volume("/srv/data/../data:/data:ro,rshared").expect("bind");
    assert_eq!(b.kind, MountKind::Bind);
    assert_eq!(b.source.as_deref(), Some("/srv/data"));
    assert_eq!((b.rw, b.propagation.as_str()), (false, "rshared"));
    assert_eq!(
        b.bind_spec.as_deref(),
        Some("/srv/data/../data:/data:ro,rshared")
    );
    assert!(b.create_source);
    let b = parse_volume("/h:/c").expect("bind");
    assert_eq!((b.rw, b.propagation.as_str()), (true, "rprivate"));
    let n = parse_volume("cache:/var/cache:nocopy").expect("named");
    assert_eq!(n.kind, MountKind::Volume);
    assert_eq!(n.source.as_deref(), Some("cache"));
    assert!(!n.copy_data && n.propagation.is_empty());
    let a = parse_volume("/data/").expect("anonymous");
    assert_eq!(
        (a.kind, a.source, a.destination.as_str()),
        (MountKind::Volume, None, "/data")
    );
    assert_eq!(a.bind_spec, None);
}

fn spec_error(r: Result<MountRequest, VolumeError>) -> String {
    match r {
        Err(VolumeError::Spec { message }) => message,
        other => panic!("expected a spec error, got {other:?}"),
    }
}

#[test]
fn v_refuses_what_docker_refuses_in_its_words() {
    assert!(spec_error(parse_volume("relative/path:/x"))
        .contains("\"relative/path\" includes invalid characters for a local volume name"));
    assert!(spec_error(parse_volume("/a:relative"))
        .ends_with("invalid mount path: 'relative' mount path must be absolute"));
    assert!(spec_error(parse_volume("/a:/"))
        .ends_with("invalid specification: destination can't be '/'"));
    assert!(spec_error(parse_volume("/a:/x/.."))
        .ends_with("invalid specification: destination can't be '/'"));
    assert_eq!(
        spec_error(parse_volume("/a:/x:bogus")),
        "invalid mode: bogus"
    );
    assert_eq!(
        spec_error(parse_volume("/a:/x:ro,rw")),
        "invalid mode: ro,rw"
    );
    assert_eq!(
        spec_error(parse_volume("/x:ro")),
        "invalid volume specification: '/x:ro'"
    );
    assert!(spec_error(parse_volume("name:/x:shared")).contains("BindOptions"));
    assert!(parse_volume("").is_err() && parse_volume("a:b:c:d").is_err());
}

#[test]
fn mount_needs_a_target_and_an_existing_bind_source() {
    assert!(spec_error(parse_mount("type=bind,source=/tmp")).ends_with("target is required"));
    assert_eq!(
        spec_error(parse_mount("type=bind,source=/nonexistent/den,target=/x")),
        "invalid mount config for type \"bind\": bind source path does not exist: /nonexistent/den"
    );
    let b =
        parse_mount("type=bind,src=/tmp,dst=/x,readonly,bind-propagation=rslave").expect("bind");
    assert_eq!(
        (b.rw, b.propagation.as_str(), b.create_source),
        (false, "rslave", false)
    );
    assert!(spec_error(parse_mount(
        "type=bind,src=/tmp,dst=/x,bind-propagation=odd"
    ))
    .ends_with("invalid propagation mode: odd"));
    let v = parse_mount("type=volume,target=/v,volume-nocopy").expect("anonymous");
    assert_eq!((v.source, v.copy_data), (None, false));
    assert!(spec_error(parse_mount("type=volume,target=/v,readonly"))
        .contains("must not set ReadOnly mode when using anonymous volumes"));
    let t = parse_mount("type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1770").expect("tmpfs");
    assert_eq!(t.tmpfs, "mode=1770,size=1048576");
    assert!(
        spec_error(parse_mount("type=tmpfs,target=/t,tmpfs-size=abc"))
            .ends_with("invalid value for tmpfs-size: abc")
    );
    assert!(spec_error(parse_mount("type=nfs,target=/t")).contains("invalid mount type"));
    assert!(spec_error(parse_mount("type=tmpfs,source=x,target=/t")).contains("Source"));
}

#[test]
fn tmpfs_options_are_checked_before_the_kernel_sees_them() {
    let t = parse_tmpfs("/run:size=64m,mode=1777,exec").expect("tmpfs");
    assert_eq!(
        (t.destination.as_str(), t.tmpfs.as_str()),
        ("/run", "size=64m,mode=1777,exec")
    );
    assert!(spec_error(parse_tmpfs("/x:size=abc")).contains("\"size=abc\""));
    assert!(spec_error(parse_tmpfs("/x:mode=999")).contains("mode=999"));
    assert!(parse_tmpfs("rel").is_err() && parse_tmpfs("/").is_err());
}

#[test]
fn volumes_from_takes_ro_or_rw() {
    assert_eq!(
        parse_volumes_from("web").expect("plain"),
        ("web".into(), None)
    );
    assert_eq!(
        parse_volumes_from("web:ro").expect("ro"),
        ("web".into(), Some(false))
    );
    assert!(parse_volumes_from("web:shared").is_err() && parse_volumes_from("").is_err());
}
