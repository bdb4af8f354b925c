//! A real `redis-server` for the tests, started on a free loopback port and killed (by its
//! PID) when dropped. Without `redis-server` installed the tests that need it fail, saying so.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct RedisServer {
    child: Child,
    pub url: String,
    // Where a cluster node keeps its node table (removed when dropped).
    dir: Option<std::path::PathBuf>,
}

impl RedisServer {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// A single-node Redis Cluster: cluster mode on, every slot (0–16383) assigned to this one
    /// node, its state `ok`. A client that is not cluster-aware talks to it as to one server,
    /// but the node refuses what a cluster refuses (a script or `MULTI` whose keys lie in two
    /// hash slots: `CROSSSLOT`).
    // The CLI's tests share this file and start no cluster.
    #[allow(dead_code)]
    pub fn start_cluster() -> Self {
        use std::sync::atomic::{AtomicU32, Ordering};
        static MADE: AtomicU32 = AtomicU32::new(0);
        let n = MADE.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("lro-cluster-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let nodes = dir.join("nodes.conf");
        let nodes = nodes.to_str().expect("a UTF-8 path").to_owned();
        let mut server =
            Self::start_with(&["--cluster-enabled", "yes", "--cluster-config-file", &nodes]);
        server.dir = Some(dir);
        let port = server.port();
        assert_eq!(
            command(port, "CLUSTER ADDSLOTSRANGE 0 16383\r\n"),
            "+OK\r\n"
        );
        for _ in 0..200 {
            if command(port, "CLUSTER INFO\r\n").contains("cluster_state:ok") {
                return server;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("the single-node cluster did not reach cluster_state:ok within 5 s");
    }

    #[allow(dead_code)]
    fn port(&self) -> u16 {
        let port = self.url.trim_end_matches('/').rsplit(':').next().unwrap();
        port.parse().unwrap()
    }

    fn start_with(args: &[&str]) -> Self {
        for _ in 0..3 {
            if let Some(server) = Self::try_start(args) {
                return server;
            }
        }
        panic!("redis-server did not answer PING on a loopback port (three attempts)");
    }

    fn try_start(args: &[&str]) -> Option<Self> {
        // `--port 0` is not supported: take a free port from the OS, then hand it over.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let spawned = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "redis-server is not installed: the Redis store tests need a real one \
                 (`apt-get install -y redis-server`; .ci/run installs it when missing)"
            ),
            Err(e) => panic!("redis-server did not start: {e}"),
        };
        let mut server = Self {
            child,
            url: format!("redis://127.0.0.1:{port}/"),
            dir: None,
        };
        for _ in 0..200 {
            if ping(port) {
                return Some(server);
            }
            if let Ok(Some(_)) = server.child.try_wait() {
                return None; // the port was taken meanwhile: try another
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        None
    }
}

#[allow(dead_code)]
/// Sends one inline command and reads what the first read returns (a short answer).
fn command(port: u16, line: &str) -> String {
    let mut conn = TcpStream::connect(("127.0.0.1", port)).expect("the server answers");
    conn.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    conn.write_all(line.as_bytes()).unwrap();
    let mut buf = [0u8; 4096];
    let n = conn.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn ping(port: u16) -> bool {
    let Ok(mut conn) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = conn.set_read_timeout(Some(Duration::from_millis(500)));
    let mut buf = [0u8; 7];
    conn.write_all(b"PING\r\n").is_ok() && conn.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
