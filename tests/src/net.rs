//! In-process network clients and servers that live in a chosen network namespace
//! (their sockets are made on a thread that entered it). Only ever aimed at sandbox addresses.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::netns;

/// Timeout for one connect, read or write of the clients below.
pub const IO_TIMEOUT: Duration = Duration::from_secs(2);

/// Parses "a.b.c.d:port".
pub fn addr(s: &str) -> SocketAddr {
    s.parse()
        .unwrap_or_else(|e| panic!("bad socket address {s:?}: {e}"))
}

/// `GET /` over HTTP/1.0 from inside netns `ns` to `to`; the body if the status is 2xx.
pub fn http_get(ns: &Path, to: SocketAddr) -> io::Result<String> {
    let mut stream = netns::run_in(ns, || TcpStream::connect_timeout(&to, IO_TIMEOUT))?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    stream.write_all(format!("GET / HTTP/1.0\r\nHost: {to}\r\n\r\n").as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| io::Error::other(format!("no HTTP header end in {text:?}")))?;
    let status_line = head.lines().next().unwrap_or("");
    if status_line
        .split_whitespace()
        .nth(1)
        .is_some_and(|c| c.starts_with('2'))
    {
        Ok(body.to_string())
    } else {
        Err(io::Error::other(format!("HTTP status {status_line:?}")))
    }
}

/// Sends `payload` by UDP from inside netns `ns` to `to` and returns the first reply.
pub fn udp_request(ns: &Path, to: SocketAddr, payload: &[u8]) -> io::Result<Vec<u8>> {
    let sock = netns::run_in(ns, || UdpSocket::bind("0.0.0.0:0"))?;
    sock.connect(to)?;
    sock.set_read_timeout(Some(IO_TIMEOUT))?;
    sock.send(payload)?;
    let mut buf = vec![0u8; 2048];
    let n = sock.recv(&mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

/// A background server thread, stopped and joined on drop.
struct Worker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A TCP server that answers every connection with an HTTP 200 whose body is the peer's
/// IP address, and records the peers. Shows what source address a client's packets carry.
pub struct PeerServer {
    peers: Arc<Mutex<Vec<SocketAddr>>>,
    _worker: Worker,
}

impl PeerServer {
    /// Listens on `at` inside netns `ns`.
    pub fn start(ns: &Path, at: SocketAddr) -> PeerServer {
        let listener = netns::run_in(ns, || TcpListener::bind(at))
            .unwrap_or_else(|e| panic!("bind {at} in {}: {e}", ns.display()));
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let peers = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peers.clone(), stop.clone());
        let thread = thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, peer)) => {
                        p.lock().unwrap_or_else(|e| e.into_inner()).push(peer);
                        let _ = answer_peer(stream, peer);
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        PeerServer {
            peers,
            _worker: Worker {
                stop,
                thread: Some(thread),
            },
        }
    }

    /// The peers seen so far.
    pub fn peers(&self) -> Vec<SocketAddr> {
        self.peers.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

fn answer_peer(mut stream: TcpStream, peer: SocketAddr) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    // Read the request head (best effort) so the client is not reset mid-send.
    let mut buf = [0u8; 1024];
    let _ = stream.read(&mut buf);
    let body = peer.ip().to_string();
    let reply = format!(
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(reply.as_bytes())
}

/// A UDP server that sends every datagram back to its sender, and records the senders.
pub struct UdpEcho {
    peers: Arc<Mutex<Vec<SocketAddr>>>,
    _worker: Worker,
}

impl UdpEcho {
    /// Listens on `at` inside netns `ns` (e.g. a container's `/proc/PID/ns/net`).
    pub fn start(ns: &Path, at: SocketAddr) -> UdpEcho {
        let sock = netns::run_in(ns, || UdpSocket::bind(at))
            .unwrap_or_else(|e| panic!("bind udp {at} in {}: {e}", ns.display()));
        sock.set_read_timeout(Some(Duration::from_millis(20)))
            .expect("udp read timeout");
        let peers = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peers.clone(), stop.clone());
        let thread = thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while !s.load(Ordering::SeqCst) {
                if let Ok((n, from)) = sock.recv_from(&mut buf) {
                    p.lock().unwrap_or_else(|e| e.into_inner()).push(from);
                    let _ = sock.send_to(&buf[..n], from);
                }
            }
        });
        UdpEcho {
            peers,
            _worker: Worker {
                stop,
                thread: Some(thread),
            },
        }
    }

    /// The senders seen so far.
    pub fn peers(&self) -> Vec<SocketAddr> {
        self.peers.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
