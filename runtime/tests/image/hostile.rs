//! Hostile layers: oversized tar headers, huge names, a gzip bomb under a wrong digest. Each is
//! refused early with a short line, and nothing is stored.
use std::fs;
use std::path::Path;

use den_runtime::image::{ImageError, ImageStore};
use tar::{EntryType, Header};

use crate::assert_no_leftovers;
use crate::support::*;

/// A layout of one plain-tar layer; returns the store error or the unpacked layer dir.
fn resolve_layer(
    tmp: &TempDir,
    layer: &[u8],
    media: &str,
) -> Result<std::path::PathBuf, ImageError> {
    let layout = tmp.path().join("img");
    let config = config_json(&[layer], &["true"]);
    let image = OciImage {
        layers: vec![(layer, media)],
        config: &config,
        tag: None,
    };
    write_layout(&layout, &[image]);
    let store = ImageStore::new(&tmp.path().join("state"));
    store
        .resolve(layout.to_str().unwrap())
        .map(|image| image.layers[0].clone())
}

/// A member with a raw header of type `kind` and `data`, padded to a block.
fn member(out: &mut Vec<u8>, kind: EntryType, name: &str, size: u64, data: &[u8]) {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(MTIME);
    h.set_size(size);
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    h.set_cksum();
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

fn end(mut out: Vec<u8>) -> Vec<u8> {
    out.extend_from_slice(&[0; 1024]);
    out
}

fn pax_record(key: &str, value: &str) -> Vec<u8> {
    let body = format!(" {key}={value}\n");
    let mut len = body.len() + 1;
    while format!("{len}{body}").len() != len {
        len += 1;
    }
    format!("{len}{body}").into_bytes()
}

fn assert_short(err: &ImageError, wants: &str) {
    // As den prints it: the error, then its causes.
    let msg = den_runtime::run::one_line(err);
    assert!(msg.len() < 400, "{} bytes: {}...", msg.len(), &msg[..300]);
    assert!(msg.contains(wants), "{msg}");
}

#[test]
fn oversized_long_names_and_pax_headers_are_refused_at_their_header() {
    let big = vec![b'a'; 2 << 20];
    let mut gnu = Vec::new();
    member(
        &mut gnu,
        EntryType::GNULongName,
        "././@LongLink",
        big.len() as u64,
        &big,
    );
    member(&mut gnu, EntryType::Regular, "x", 0, &[]);
    let mut pax = Vec::new();
    let record = pax_record("path", std::str::from_utf8(&big).unwrap());
    member(
        &mut pax,
        EntryType::XHeader,
        "pax",
        record.len() as u64,
        &record,
    );
    member(&mut pax, EntryType::Regular, "x", 0, &[]);
    for (layer, wants) in [(gnu, "long name of 2097152 bytes"), (pax, "PAX header of")] {
        let tmp = TempDir::new("bighdr");
        let err = resolve_layer(&tmp, &end(layer), TAR).unwrap_err();
        assert_short(&err, wants);
        assert_short(&err, "at most 1048576");
        assert_no_leftovers(&tmp.path().join("state"));
    }
}

#[test]
fn long_names_in_errors_are_cut_short() {
    // Under the 1 MiB bound, but escaping the layer: the error shows ~200 characters of it.
    let name = format!("../{}", "n".repeat(600 << 10));
    let mut layer = Vec::new();
    let record = pax_record("path", &name);
    member(
        &mut layer,
        EntryType::XHeader,
        "pax",
        record.len() as u64,
        &record,
    );
    member(&mut layer, EntryType::Regular, "x", 0, &[]);
    let tmp = TempDir::new("longname");
    let err = resolve_layer(&tmp, &end(layer), TAR).unwrap_err();
    assert!(matches!(err, ImageError::UnsafeEntry { .. }), "{err}");
    assert_short(&err, &format!("({} bytes)", name.len()));
    assert_no_leftovers(&tmp.path().join("state"));
}

#[test]
fn a_pax_size_record_is_followed_to_the_next_member() {
    let mut layer = Vec::new();
    let record = pax_record("size", "5");
    member(
        &mut layer,
        EntryType::XHeader,
        "pax",
        record.len() as u64,
        &record,
    );
    member(&mut layer, EntryType::Regular, "five", 0, b"hello");
    member(&mut layer, EntryType::Regular, "after", 3, b"abc");
    let tmp = TempDir::new("paxsize");
    let dir = resolve_layer(&tmp, &end(layer), TAR).unwrap();
    assert_eq!(fs::read(dir.join("five")).unwrap(), b"hello");
    assert_eq!(fs::read(dir.join("after")).unwrap(), b"abc");
}

/// Bytes this thread has written with write(2) and friends so far.
fn written_by_this_thread() -> u64 {
    let io = fs::read_to_string("/proc/thread-self/io").unwrap();
    io.lines()
        .find_map(|l| l.strip_prefix("wchar: "))
        .unwrap()
        .parse()
        .unwrap()
}

/// A one-layer layout of `layer` (gzip); then `spoil` changes its blob. Resolving it must fail
/// with a size or digest mismatch having written under 1 MiB, and store nothing.
fn refused_before_decompressing(layer: &[u8], spoil: impl Fn(&[u8]) -> Vec<u8>) {
    let tmp = TempDir::new("bomb");
    let config = config_json(&[layer], &["true"]);
    let layout = tmp.path().join("img");
    let image = OciImage {
        layers: vec![(layer, TAR_GZ)],
        config: &config,
        tag: None,
    };
    let hex = write_layout(&layout, &[image]).remove(0).remove(0);
    let blob = layout.join("blobs/sha256").join(&hex);
    fs::write(&blob, spoil(&fs::read(&blob).unwrap())).unwrap();
    let store = ImageStore::new(&tmp.path().join("state"));
    let before = written_by_this_thread();
    let err = store.resolve(layout.to_str().unwrap()).unwrap_err();
    let written = written_by_this_thread() - before;
    assert!(
        matches!(
            err,
            ImageError::SizeMismatch { .. } | ImageError::DigestMismatch { .. }
        ),
        "{err}"
    );
    assert!(written < 1 << 20, "{written} bytes written before refusing");
    assert_no_leftovers(&tmp.path().join("state"));
    assert!(!Path::new(&tmp.path().join("state/images/layers/sha256").join(&hex)).exists());
}

#[test]
fn a_gzip_bomb_under_a_wrong_digest_is_never_decompressed() {
    let zeros = vec![0u8; 64 << 20];
    let bomb = gzip(&Layer::new().file_bytes("zeros", &zeros).finish());
    drop(zeros);
    // The right size, the wrong bytes: a changed gzip header mtime still decompresses in full.
    refused_before_decompressing(&bomb, |b| {
        let mut b = b.to_vec();
        b[4] ^= 0xff;
        b
    });
    // Longer than its descriptor says: read no further than the stated size.
    let honest = gzip(&Layer::new().file("a", "a\n").finish());
    refused_before_decompressing(&honest, |_| bomb.clone());
}
