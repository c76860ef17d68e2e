//! A real `nats-server` for a test: started on 127.0.0.1 and a free port,
//! inside the test's private network namespace, killed when dropped.
//! Shared with the CLI's tests (crates/cli/tests/cli/bridge.rs).

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `nats-server`.
pub(crate) struct NatsServer {
    child: Option<Child>,
    /// Its port on 127.0.0.1.
    pub(crate) port: u16,
    config: PathBuf,
    /// A directory of its own, removed when dropped.
    pub(crate) dir: PathBuf,
}

/// The `nats-server` binary: `$NATS_SERVER`, else the first on `PATH`, else
/// Debian's `/usr/sbin/nats-server`. Missing is a failure, never a skip.
fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("NATS_SERVER") {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/bin")])
        .map(|dir| dir.join("nats-server"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("nats-server not found: `apt-get install -y nats-server` (or set NATS_SERVER)")
        })
}

impl NatsServer {
    /// Starts a server whose configuration is `listen` plus `extra` (the
    /// server's own configuration syntax).
    pub(crate) fn start(extra: &str) -> NatsServer {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = std::env::temp_dir().join(format!(
            "eventcast-nats-{}-{port}-{}",
            std::process::id(),
            std::thread::current()
                .name()
                .unwrap_or("t")
                .replace("::", "-")
        ));
        std::fs::create_dir_all(&dir).expect("test dir");
        let config = dir.join("nats.conf");
        std::fs::write(&config, format!("listen: 127.0.0.1:{port}\n{extra}\n")).expect("config");
        let mut server = NatsServer {
            child: None,
            port,
            config,
            dir,
        };
        server.spawn();
        server
    }

    /// `nats://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server (SIGKILL: connections break without goodbye).
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again, same port and configuration.
    pub(crate) fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    fn spawn(&mut self) {
        let child = Command::new(binary())
            .arg("-c")
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server");
        self.child = Some(child);
        wait_listening(self.port, &self.config);
    }
}

fn wait_listening(port: u16, config: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nats-server -c {} did not listen on port {port}",
            config.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
