//! An image recorded before den kept its config's `EXPOSE`d ports and labels in its record still
//! has them: den reads them from the config blob it kept (`-P`, `inspect`, `ps --filter expose=`,
//! `images --filter label=`).

use std::fs;
use std::path::Path;

use den_tests::{fixtures, Sandbox};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Writes `bytes` as a blob of the layout at `dir`; returns its descriptor's digest.
fn put_blob(dir: &Path, bytes: &[u8]) -> String {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    fs::write(dir.join("blobs/sha256").join(&hex), bytes).unwrap();
    format!("sha256:{hex}")
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&fs::read(p).unwrap()).unwrap()
}

/// The fixture's OCI layout with `EXPOSE 8081` and a label in its config, at `dir`.
fn layout_with_expose(dir: &Path) {
    let src = Path::new(fixtures().oci_arg());
    fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    for e in fs::read_dir(src.join("blobs/sha256")).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), dir.join("blobs/sha256").join(e.file_name())).unwrap();
    }
    fs::copy(src.join("oci-layout"), dir.join("oci-layout")).unwrap();
    let index = read_json(&src.join("index.json"));
    let digest = index["manifests"][0]["digest"].as_str().unwrap();
    let blob = |d: &str| {
        src.join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"))
    };
    let mut manifest = read_json(&blob(digest));
    let mut config = read_json(&blob(manifest["config"]["digest"].as_str().unwrap()));
    config["config"]["ExposedPorts"] = json!({"8081/tcp": {}});
    config["config"]["Labels"] = json!({"org.den.test": "old"});
    let config = serde_json::to_vec(&config).unwrap();
    manifest["config"]["digest"] = json!(put_blob(dir, &config));
    manifest["config"]["size"] = json!(config.len());
    let manifest = serde_json::to_vec(&manifest).unwrap();
    let mut index = index.clone();
    index["manifests"][0]["digest"] = json!(put_blob(dir, &manifest));
    index["manifests"][0]["size"] = json!(manifest.len());
    fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
}

#[test]
fn an_image_recorded_without_its_exposed_ports_gets_them_from_its_config_blob() {
    let sb = Sandbox::new();
    let layout = sb.scratch().join("exposing.oci");
    layout_with_expose(&layout);
    sb.den(&["image", "load", "--name", "old:1", layout.to_str().unwrap()])
        .ok();
    // As den recorded images before it kept these: no exposed_ports, no labels.
    let names = sb.root().join("images/names.json");
    let mut record = read_json(&names);
    let entry = record
        .as_object_mut()
        .unwrap()
        .values_mut()
        .find(|e| e["id"].as_str().is_some())
        .unwrap();
    let config = entry["config"].as_object_mut().unwrap();
    assert!(config.remove("exposed_ports").is_some(), "{record}");
    config.remove("labels");
    fs::write(&names, serde_json::to_vec(&record).unwrap()).unwrap();

    let inspect = sb
        .den(&[
            "image",
            "inspect",
            "-f",
            "{{.Config.ExposedPorts}} {{.Config.Labels}}",
            "old:1",
        ])
        .ok();
    assert_eq!(inspect.out(), "map[8081/tcp:{}] map[org.den.test:old]");
    let images = sb
        .den(&[
            "images",
            "--filter",
            "label=org.den.test=old",
            "--format",
            "{{.Repository}}",
        ])
        .ok();
    assert_eq!(images.out(), "old");
    // The fixture's config says it was made in 2024: before a day ago, not before 2020.
    let until = |t: &str| {
        let f = format!("until={t}");
        sb.den(&["images", "-q", "--filter", &f])
            .ok()
            .out()
            .lines()
            .count()
    };
    assert_eq!((until("24h"), until("2020-01-01T00:00:00Z")), (1, 0));

    sb.run_detached(&["--name", "pub", "-P", "old:1", "sleep", "300"]);
    let port = sb.den(&["port", "pub", "8081/tcp"]).ok();
    assert!(
        port.out().starts_with("0.0.0.0:"),
        "-P published 8081: {port}"
    );
    let exposed = sb
        .den(&["inspect", "-f", "{{.Config.ExposedPorts}}", "pub"])
        .ok();
    assert_eq!(exposed.out(), "map[8081/tcp:{}]");
    let ps = sb
        .den(&["ps", "--filter", "expose=8081", "--format", "{{.Names}}"])
        .ok();
    assert_eq!(ps.out(), "pub");
    sb.den(&["rm", "-f", "pub"]).ok();
}
