//! A registry that serves a corrupted blob: a small proxy in front of a real docker-registry
//! flips one byte in the middle of every large blob it relays. den refuses the layer by its
//! digest and stores nothing (no layer, no blob, no partial, no name); through the registry
//! itself the same pull works.
use std::fs;
use std::path::Path;

use den_tests::{assert_rejected, Registry, Sandbox};

/// The proxy: 127.0.0.1:LISTEN → 127.0.0.1:UPSTREAM, headers kept, big blob bodies corrupted.
const PROXY: &str = r#"
import http.client, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
listen, upstream = int(sys.argv[1]), int(sys.argv[2])
class Relay(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def relay(self):
        body = None
        if self.headers.get("Content-Length"):
            body = self.rfile.read(int(self.headers["Content-Length"]))
        c = http.client.HTTPConnection("127.0.0.1", upstream)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        headers["Host"] = "127.0.0.1:%d" % listen
        c.request(self.command, self.path, body, headers)
        r = c.getresponse()
        data = r.read()
        if self.command == "GET" and "/blobs/" in self.path and len(data) > 65536:
            mid = len(data) // 2
            data = data[:mid] + bytes([data[mid] ^ 0xff]) + data[mid + 1:]
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = relay
ThreadingHTTPServer(("127.0.0.1", listen), Relay).serve_forever()
"#;

fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
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
fn a_blob_corrupted_on_the_way_is_refused_and_nothing_is_stored() {
    let sb = Sandbox::new();
    let reg = Registry::http(&sb, 5000);
    reg.push_fixture(&sb, "tools/busybox:latest").ok();
    let script = sb.scratch().join("proxy.py");
    fs::write(&script, PROXY).unwrap();
    let _proxy = sb.host_spawn(&format!("exec python3 {} 5001 5000", script.display()));
    den_tests::wait_until(
        std::time::Duration::from_secs(20),
        "the proxy to answer",
        || {
            let code = sb.host("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:5001/v2/");
            code.stdout.trim() == "200"
        },
    );
    let out = sb.den(&["pull", "127.0.0.1:5001/tools/busybox"]);
    assert_rejected(&out, &["digest mismatch"]);
    let images = sb.root().join("images");
    assert!(files_under(&images.join("layers")).is_empty());
    let kept: Vec<String> = files_under(&images.join("blobs"))
        .into_iter()
        .filter(|f| f.ends_with(".partial") || fs::metadata(f).is_ok_and(|m| m.len() > 65536))
        .collect();
    assert!(kept.is_empty(), "{kept:?}");
    let names = fs::read_to_string(images.join("names.json")).unwrap_or_default();
    assert!(!names.contains("busybox"), "{names}");
    // The registry itself serves it right.
    let ok = sb.den(&["pull", "127.0.0.1:5000/tools/busybox"]).ok();
    assert!(ok.stdout.contains("Pull complete"), "{ok}");
}
