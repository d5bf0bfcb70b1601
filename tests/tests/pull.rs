//! `den pull` from a real registry (docker-registry in the sandbox), cross-checked with skopeo.
use std::fs;
use std::path::Path;

use den_tests::{assert_rejected, skopeo, Registry, Sandbox};
use serde_json::Value;

/// The manifest digest skopeo sees for `reference` (docker://...).
fn skopeo_digest(sb: &Sandbox, reference: &str) -> String {
    let out = skopeo(
        sb,
        &format!("inspect --tls-verify=false docker://{reference}"),
    )
    .ok();
    let v: Value = serde_json::from_str(&out.stdout).expect("skopeo inspect JSON");
    v["Digest"].as_str().expect("Digest").to_string()
}

/// Files under `dir`, recursively (none if it is missing).
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() && !p.is_symlink() {
            out.extend(files_under(&p));
        } else {
            out.push(p.display().to_string());
        }
    }
    out
}

#[test]
fn a_pulled_image_runs_and_has_the_digest_skopeo_pushed() {
    let sb = Sandbox::new();
    let reg = Registry::http(&sb, 5000);
    reg.push_fixture(&sb, "tools/busybox:v1").ok();
    let name = format!("{}/tools/busybox:v1", reg.addr);
    let digest = skopeo_digest(&sb, &name);

    let out = sb.den(&["pull", &name]).ok();
    assert!(
        out.stdout.contains("v1: Pulling from tools/busybox"),
        "{out}"
    );
    assert!(out.stdout.contains(": Pull complete"), "{out}");
    assert!(out.stdout.contains(&format!("Digest: {digest}")), "{out}");
    assert!(
        out.stdout
            .contains(&format!("Status: Downloaded newer image for {name}")),
        "{out}"
    );
    assert_eq!(out.stdout.lines().last(), Some(name.as_str()), "{out}");

    let run = sb
        .den(&[
            "run",
            "--rm",
            "--network",
            "none",
            &name,
            "sh",
            "-c",
            "echo pulled",
        ])
        .ok();
    assert_eq!(run.stdout.trim(), "pulled");
    let again = sb.den(&["pull", &name]).ok();
    assert!(again.stdout.contains(": Already exists"), "{again}");
    assert!(
        again.stdout.contains("Status: Image is up to date"),
        "{again}"
    );
    let quiet = sb.den(&["pull", "-q", &name]).ok();
    assert_eq!(quiet.stdout, format!("{name}\n"));
    // By digest, too.
    let by_digest = format!("{}/tools/busybox@{digest}", reg.addr);
    sb.den(&["pull", "-q", &by_digest]).ok();
    // Nothing half-made is left (the blobs themselves are kept, for push and save).
    let blobs = files_under(&sb.root().join("images/blobs"));
    assert!(blobs.iter().all(|b| !b.ends_with(".partial")), "{blobs:?}");
}

#[test]
fn bad_pulls_are_one_line_in_dockers_words_and_store_nothing() {
    let sb = Sandbox::new();
    let reg = Registry::http(&sb, 5000);
    reg.push_fixture(&sb, "busybox:latest").ok();
    let cases = [
        (format!("{}/busybox:nope", reg.addr), "manifest for"),
        (format!("{}/nosuch/repo", reg.addr), "not found"),
        ("127.0.0.1:5999/busybox".to_string(), "127.0.0.1:5999"),
        ("UPPER/case".to_string(), "must be lowercase"),
        ("a::b".to_string(), "invalid reference format"),
    ];
    for (reference, wants) in &cases {
        let out = sb.den(&["pull", reference]);
        assert_rejected(&out, &[wants]);
    }
    let out = sb.den(&[
        "pull",
        "--platform",
        "linux/s390x",
        &format!("{}/busybox", reg.addr),
    ]);
    assert_rejected(&out, &["linux/s390x"]);
    assert!(files_under(&sb.root().join("images/layers")).is_empty());
}

#[test]
fn a_corrupted_blob_from_the_registry_is_refused_and_nothing_is_stored() {
    let sb = Sandbox::new();
    let reg = Registry::http(&sb, 5000);
    reg.push_fixture(&sb, "busybox:latest").ok();
    // The largest blob in the registry's storage is the layer: flip one byte of it.
    let mut blobs: Vec<(u64, String)> = files_under(&reg.storage.join("data"))
        .into_iter()
        .filter(|p| p.ends_with("/data"))
        .map(|p| (fs::metadata(&p).unwrap().len(), p))
        .collect();
    blobs.sort();
    let (_, layer) = blobs.last().expect("a layer blob").clone();
    let mut bytes = fs::read(&layer).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    fs::write(&layer, bytes).unwrap();

    let out = sb.den(&["pull", &format!("{}/busybox", reg.addr)]);
    assert_rejected(&out, &["digest mismatch", "size mismatch", "Digest"]);
    assert!(files_under(&sb.root().join("images/layers")).is_empty());
    let partial: Vec<_> = files_under(&sb.root().join("images/blobs"))
        .into_iter()
        .filter(|p| p.ends_with(".partial"))
        .collect();
    assert!(partial.is_empty(), "{partial:?}");
    let names = fs::read_to_string(sb.root().join("images/names.json")).unwrap_or_default();
    assert!(!names.contains("busybox"), "{names}");
}

#[test]
fn run_pulls_a_missing_image_and_rmi_refuses_an_image_in_use() {
    let sb = Sandbox::new();
    let reg = Registry::http(&sb, 5000);
    reg.push_fixture(&sb, "busybox:latest").ok();
    let name = format!("{}/busybox", reg.addr);
    let never = sb.den(&[
        "run",
        "--rm",
        "--pull",
        "never",
        "--network",
        "none",
        &name,
        "true",
    ]);
    assert_rejected(&never, &[name.as_str()]);
    let run = sb
        .den(&["run", "--rm", "--network", "none", &name, "echo", "hi"])
        .ok();
    assert_eq!(run.stdout, "hi\n");
    assert!(
        run.stderr
            .contains(&format!("Unable to find image '{name}:latest' locally")),
        "{run}"
    );
    assert!(run.stderr.contains("Pull complete"), "{run}");
    // Present now: no second pull.
    let again = sb
        .den(&["run", "--rm", "--network", "none", &name, "true"])
        .ok();
    assert!(!again.stderr.contains("Pulling"), "{again}");

    let images = sb.den(&["images", "--digests"]).ok();
    let row = images
        .stdout
        .lines()
        .find(|l| l.starts_with(&name))
        .unwrap_or_default();
    assert!(
        row.contains("latest") && row.contains("sha256:"),
        "{images}"
    );
    sb.den(&["run", "--name", "user", "--network", "none", &name, "true"])
        .ok();
    let refused = sb.den(&["rmi", &name]);
    assert_rejected(&refused, &["must force"]);
    sb.den(&["rmi", "-f", &name]).ok();
    let gone = sb.den(&["images", "-q"]).ok();
    assert_eq!(gone.stdout, "", "{gone}");
    // `den create` pulls a missing image too; `--pull always` pulls one den has.
    sb.den(&["rm", "user"]).ok();
    let made = sb
        .den(&[
            "create",
            "--name",
            "made",
            "--network",
            "none",
            &name,
            "true",
        ])
        .ok();
    assert!(made.stderr.contains("Pull complete"), "{made}");
    let always = sb
        .den(&[
            "run",
            "--rm",
            "--pull",
            "always",
            "--network",
            "none",
            &name,
            "true",
        ])
        .ok();
    assert!(always.stderr.contains("Digest: sha256:"), "{always}");
    assert!(!always.stderr.contains("Unable to find image"), "{always}");
    sb.den(&["rm", "made"]).ok();
}

/// A copy of the fixture layout whose index holds two platforms: the fixture's own image
/// (linux/amd64) and the same layer under a config saying linux/arm64. Returns the two config
/// digests (amd64, arm64).
fn two_platform_layout(dir: &Path) -> (String, String) {
    use sha2::{Digest, Sha256};
    let src = &den_tests::fixtures().oci;
    let hex = |b: &[u8]| -> String {
        Sha256::digest(b)
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect()
    };
    fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    for e in fs::read_dir(src.join("blobs/sha256")).unwrap().flatten() {
        fs::copy(e.path(), dir.join("blobs/sha256").join(e.file_name())).unwrap();
    }
    fs::copy(src.join("oci-layout"), dir.join("oci-layout")).unwrap();
    let read = |digest: &str| {
        fs::read(
            dir.join("blobs/sha256")
                .join(digest.trim_start_matches("sha256:")),
        )
        .unwrap()
    };
    let index: Value = serde_json::from_slice(&fs::read(src.join("index.json")).unwrap()).unwrap();
    let amd = index["manifests"][0].clone();
    let manifest: Value = serde_json::from_slice(&read(amd["digest"].as_str().unwrap())).unwrap();
    let amd_config = manifest["config"]["digest"].as_str().unwrap().to_string();
    let mut config: Value = serde_json::from_slice(&read(&amd_config)).unwrap();
    config["architecture"] = "arm64".into();
    let arm_config_bytes = config.to_string().into_bytes();
    let arm_config = hex(&arm_config_bytes);
    fs::write(
        dir.join("blobs/sha256").join(&arm_config),
        &arm_config_bytes,
    )
    .unwrap();
    let mut arm_manifest = manifest.clone();
    arm_manifest["config"]["digest"] = format!("sha256:{arm_config}").into();
    arm_manifest["config"]["size"] = arm_config_bytes.len().into();
    let arm_manifest_bytes = arm_manifest.to_string().into_bytes();
    let arm_manifest_hex = hex(&arm_manifest_bytes);
    fs::write(
        dir.join("blobs/sha256").join(&arm_manifest_hex),
        &arm_manifest_bytes,
    )
    .unwrap();
    let mut arm = amd.clone();
    arm["digest"] = format!("sha256:{arm_manifest_hex}").into();
    arm["size"] = arm_manifest_bytes.len().into();
    arm["platform"]["architecture"] = "arm64".into();
    // A nested index (the multi-platform image) tagged "latest" in the layout's index.json.
    let (mut amd, mut arm) = (amd, arm);
    for m in [&mut amd, &mut arm] {
        m.as_object_mut().unwrap().remove("annotations");
    }
    let nested = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [amd, arm],
    })
    .to_string()
    .into_bytes();
    let nested_hex = hex(&nested);
    fs::write(dir.join("blobs/sha256").join(&nested_hex), &nested).unwrap();
    let top = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": format!("sha256:{nested_hex}"),
            "size": nested.len(),
            "annotations": {"org.opencontainers.image.ref.name": "latest"},
        }],
    });
    fs::write(dir.join("index.json"), top.to_string()).unwrap();
    (amd_config, format!("sha256:{arm_config}"))
}

fn image_id(sb: &Sandbox, name: &str) -> String {
    let out = sb.den(&["images", "--no-trunc", "--format", "json"]).ok();
    out.stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["Name"] == name)
        .map(|v| v["ID"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("{name} not listed\n{out}"))
}

#[test]
fn a_multi_platform_index_resolves_to_the_host_or_the_platform_asked_for() {
    let sb = Sandbox::new();
    let reg = Registry::http(&sb, 5000);
    let layout = sb.scratch().join("multi.oci");
    let (amd, arm) = two_platform_layout(&layout);
    skopeo(
        &sb,
        &format!(
            "copy --all --dest-tls-verify=false oci:{}:latest docker://{}/multi:latest",
            layout.display(),
            reg.addr
        ),
    )
    .ok();
    let name = format!("{}/multi:latest", reg.addr);
    sb.den(&["pull", "-q", &name]).ok();
    assert_eq!(image_id(&sb, &name), amd, "the host (amd64) image");
    let out = sb.den(&["pull", "--platform", "linux/arm64", &name]).ok();
    assert!(out.stdout.contains("Already exists"), "same layer: {out}");
    assert_eq!(image_id(&sb, &name), arm, "the arm64 image");
    let wrong = sb.den(&["pull", "--platform", "linux/s390x", &name]);
    assert_rejected(&wrong, &["linux/amd64, linux/arm64"]);
    let bad = sb.den(&["pull", "--platform", "linux", &name]);
    assert_rejected(&bad, &["invalid platform \"linux\""]);
}

#[test]
fn an_unreachable_registry_is_a_short_clear_timeout() {
    let sb = Sandbox::new();
    // The sandbox host drops what goes to port 5997: a connect there never completes.
    sb.host(
        "nft add table inet den_test_blackhole && \
         nft add chain inet den_test_blackhole out '{ type filter hook output priority 0; }' && \
         nft add rule inet den_test_blackhole out tcp dport 5997 drop",
    )
    .ok();
    let started = std::time::Instant::now();
    let out = sb.den(&["pull", "127.0.0.1:5997/busybox"]);
    let took = started.elapsed();
    assert_rejected(&out, &["timed out after 10s"]);
    assert!(out.stderr.contains("127.0.0.1:5997"), "{out}");
    // One connect timeout, not one per request.
    assert!(took < std::time::Duration::from_secs(18), "took {took:?}");
    assert!(files_under(&sb.root().join("images/layers")).is_empty());
}
