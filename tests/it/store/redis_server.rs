//! A real `redis-server` for the tests, started on a free loopback port and killed (by its
//! PID) when dropped. Without `redis-server` installed the tests that need it fail, saying so.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct RedisServer {
    child: Child,
    pub url: String,
}

impl RedisServer {
    pub fn start() -> Self {
        for _ in 0..3 {
            if let Some(server) = Self::try_start() {
                return server;
            }
        }
        panic!("redis-server did not answer PING on a loopback port (three attempts)");
    }

    fn try_start() -> Option<Self> {
        // `--port 0` is not supported: take a free port from the OS, then hand it over.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let spawned = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
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
    }
}
