//! Throwaway network namespaces for the firewall tests, and tiny servers/clients that run in them
//! on threads (a thread that setns()es only moves itself). No processes are left running: servers
//! are threads, stopped and joined on drop; every named netns is deleted on drop, also on panic.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use nix::sched::{setns, unshare, CloneFlags};

/// Runs `f` on a thread that first unshares its network namespace; the netns dies with the thread.
pub fn in_new_netns<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let t = std::thread::spawn(move || {
        unshare(CloneFlags::CLONE_NEWNET).expect("unshare(CLONE_NEWNET) (needs root)");
        f()
    });
    t.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
}

/// A named netns (`ip netns add`; lo stays down), deleted on drop.
pub struct Netns {
    pub name: String,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl Netns {
    pub fn new(tag: &str) -> Netns {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("den-fw-{}-{n}-{tag}", std::process::id());
        run("ip", &["netns", "add", &name]);
        Netns { name }
    }

    /// `ip -n NAME ARGS...` (whitespace-separated), which must succeed.
    pub fn ip(&self, args: &str) {
        let mut all = vec!["-n", &self.name];
        all.extend(args.split_whitespace());
        run("ip", &all);
    }

    fn enter(&self) {
        let f = File::open(format!("/run/netns/{}", self.name)).unwrap();
        setns(&f, CloneFlags::CLONE_NEWNET).unwrap();
    }

    /// Runs `f` on a thread inside this netns.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        std::thread::scope(|s| {
            s.spawn(|| {
                self.enter();
                f()
            })
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })
    }

    /// Writes /proc/sys/KEY inside this netns (/proc/sys/net follows the writing thread's netns).
    pub fn sysctl(&self, key: &str, value: &str) {
        self.run(|| std::fs::write(format!("/proc/sys/{key}"), value).unwrap());
    }

    /// Connects to `addr` over tcp from this netns; returns what the server says.
    pub fn tcp_ask(&self, addr: &str) -> io::Result<String> {
        let addr: SocketAddr = addr.parse().unwrap();
        self.run(|| {
            let mut s = TcpStream::connect_timeout(&addr, TIMEOUT)?;
            s.set_read_timeout(Some(TIMEOUT))?;
            let mut reply = String::new();
            s.read_to_string(&mut reply)?;
            Ok(reply)
        })
    }

    /// Sends a udp datagram to `addr` from this netns; returns the reply.
    pub fn udp_ask(&self, addr: &str) -> io::Result<String> {
        let addr: SocketAddr = addr.parse().unwrap();
        self.run(|| {
            let s = UdpSocket::bind("0.0.0.0:0")?;
            s.set_read_timeout(Some(TIMEOUT))?;
            s.send_to(b"?", addr)?;
            let mut buf = [0u8; 64];
            let n = s.recv(&mut buf)?;
            Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let st = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
        if !matches!(st, Ok(s) if s.success()) && !std::thread::panicking() {
            panic!("ip netns del {} failed: {st:?}", self.name);
        }
    }
}

const TIMEOUT: Duration = Duration::from_millis(700);

fn run(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A server thread in a netns that answers every tcp connection / udp datagram on `port` with the
/// peer's address (so tests see whether the client was masqueraded). Stopped on drop.
pub struct Server {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    pub fn tcp(ns: &Netns, port: u16) -> Server {
        Server::start(ns, move |stop| {
            let l = TcpListener::bind(("0.0.0.0", port)).unwrap();
            l.set_nonblocking(true).unwrap();
            Box::new(move || {
                while !stop.load(Ordering::SeqCst) {
                    match l.accept() {
                        Ok((mut s, peer)) => {
                            let _ = s.write_all(peer.ip().to_string().as_bytes());
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        })
    }

    pub fn udp(ns: &Netns, port: u16) -> Server {
        Server::start(ns, move |stop| {
            let s = UdpSocket::bind(("0.0.0.0", port)).unwrap();
            s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
            Box::new(move || {
                let mut buf = [0u8; 64];
                while !stop.load(Ordering::SeqCst) {
                    if let Ok((_, peer)) = s.recv_from(&mut buf) {
                        let _ = s.send_to(peer.ip().to_string().as_bytes(), peer);
                    }
                }
            })
        })
    }

    /// `setup` binds in the netns and returns the serving loop; `start` returns once bound.
    fn start(
        ns: &Netns,
        setup: impl FnOnce(Arc<AtomicBool>) -> Box<dyn FnOnce() + Send> + Send + 'static,
    ) -> Server {
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = mpsc::channel();
        let path = format!("/run/netns/{}", ns.name);
        let stop2 = stop.clone();
        let thread = std::thread::spawn(move || {
            setns(File::open(path).unwrap(), CloneFlags::CLONE_NEWNET).unwrap();
            let serve = setup(stop2);
            ready_tx.send(()).unwrap();
            serve();
        });
        let server = Server {
            stop,
            thread: Some(thread),
        };
        ready_rx.recv().expect("server thread failed to bind");
        server
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
