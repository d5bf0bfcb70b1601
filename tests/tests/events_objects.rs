//! `den events` of images, networks and volumes: docker's actions, actors and attributes, in the
//! order the runtime makes the changes.

use den_tests::journal::{action, attr, unix_now};
use den_tests::{fixtures, Sandbox};
use serde_json::Value;

fn img() -> &'static str {
    fixtures().dir_arg()
}

#[test]
fn images_networks_and_volumes_are_journaled_as_dockers() {
    let sb = Sandbox::new();
    let t0 = unix_now();
    sb.den(&["image", "load", "--name", "ev/bb:v1", fixtures().oci_arg()])
        .ok();
    sb.den(&["tag", "ev/bb:v1", "ev/bb:v2"]).ok();
    let file = sb.scratch().join("saved.tar");
    sb.den(&["image", "save", "-o", file.to_str().unwrap(), "ev/bb:v1"])
        .ok();
    sb.den(&["rmi", "ev/bb:v2"]).ok();
    sb.den(&["rmi", "ev/bb:v1"]).ok();
    sb.den(&["network", "create", "evnet"]).ok();
    sb.den(&["volume", "create", "evvol"]).ok();
    let on = [
        "--network",
        "evnet",
        "-v",
        "evvol:/data",
        "--name",
        "member",
    ];
    sb.den(&[&["run", "--rm"], &on[..], &[img(), "true"]].concat())
        .ok();
    sb.den(&["network", "rm", "evnet"]).ok();
    sb.den(&["volume", "rm", "evvol"]).ok();
    let evs = sb.events(&["--since", &t0, "--until", &unix_now()]);
    let of = |kind: &str| -> Vec<&Value> { evs.iter().filter(|e| e["Type"] == kind).collect() };

    let images = of("image");
    let acts: Vec<&str> = images.iter().map(|e| action(e)).collect();
    assert_eq!(
        acts,
        ["load", "tag", "save", "untag", "untag", "delete"],
        "{images:?}"
    );
    let id = images[0]["Actor"]["ID"].as_str().unwrap();
    assert!(id.starts_with("sha256:"), "{id}");
    assert!(images.iter().all(|e| e["Actor"]["ID"] == id), "{images:?}");
    assert!(
        attr(images[1], "name").ends_with("ev/bb:v2"),
        "{:?}",
        images[1]
    );

    let nets = of("network");
    let acts: Vec<&str> = nets.iter().map(|e| action(e)).collect();
    assert_eq!(
        acts,
        ["create", "connect", "disconnect", "destroy"],
        "{nets:?}"
    );
    assert!(nets.iter().all(|e| attr(e, "name") == "evnet"), "{nets:?}");
    let member = evs
        .iter()
        .find(|e| e["Type"] == "container" && attr(e, "name") == "member")
        .unwrap();
    assert_eq!(
        attr(nets[1], "container"),
        member["Actor"]["ID"].as_str().unwrap()
    );
    // The container's events around its network's: create, connect, start, die, disconnect.
    let around: Vec<String> = evs
        .iter()
        .filter(|e| attr(e, "name") == "member" || e["Type"] == "network")
        .map(|e| format!("{} {}", e["Type"].as_str().unwrap(), action(e)))
        .collect();
    let want = [
        "network create",
        "container create",
        "network connect",
        "container start",
        "container die",
        "network disconnect",
        "container destroy",
        "network destroy",
    ];
    assert_eq!(around, want);

    let vols = of("volume");
    let acts: Vec<String> = vols
        .iter()
        .map(|e| format!("{} {}", action(e), e["Actor"]["ID"].as_str().unwrap()))
        .collect();
    let want = [
        "create evvol",
        "mount evvol",
        "unmount evvol",
        "destroy evvol",
    ];
    assert_eq!(acts, want, "{evs:#?}");
    assert_eq!(attr(vols[0], "driver"), "local");
    let mount = vols[1];
    assert_eq!(
        attr(mount, "container"),
        member["Actor"]["ID"].as_str().unwrap()
    );
    assert_eq!(attr(mount, "destination"), "/data");
    assert_eq!(attr(mount, "read/write"), "true");
}

#[test]
fn a_push_and_a_pull_are_journaled_by_their_reference() {
    let sb = Sandbox::new();
    let reg = den_tests::Registry::http(&sb, 5000);
    let name = format!("{}/ev/busybox:v1", reg.addr);
    sb.den(&["image", "load", "--name", &name, fixtures().oci_arg()])
        .ok();
    let t0 = unix_now();
    sb.den(&["push", &name]).ok();
    sb.den(&["rmi", &name]).ok();
    sb.den(&["pull", &name]).ok();
    let evs = sb.events(&["--since", &t0, "--until", &unix_now(), "-f", "type=image"]);
    let seen: Vec<String> = evs
        .iter()
        .map(|e| format!("{} {}", action(e), e["Actor"]["ID"].as_str().unwrap()))
        .collect();
    let id = evs[1]["Actor"]["ID"].as_str().unwrap();
    assert_eq!(
        seen,
        [
            format!("push {name}"),
            format!("untag {id}"),
            format!("delete {id}"),
            format!("pull {name}"),
        ]
    );
    assert_eq!(attr(&evs[3], "name"), format!("{}/ev/busybox", reg.addr));
}
