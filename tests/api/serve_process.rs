//! `minecoord serve` as a real process on a free port, for the several-instances test and
//! benchmark: ready once `/readyz` answers, killed (SIGKILL) and waited for when dropped.

#![allow(dead_code)] // the test and the benchmark each use a part

use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Instance {
    pub base: String,
    pub child: Child,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Instance {
    /// Starts `minecoord serve` with these settings (`MINECOORD_…` variables) besides its
    /// address, its output going to `log`, and waits until it is ready.
    pub async fn serve(settings: &[(&str, String)], log: &std::path::Path) -> Instance {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::File::create(log).expect("instance log");
        let child = Command::new(env!("CARGO_BIN_EXE_minecoord"))
            .arg("serve")
            .env("MINECOORD_HTTP__ADDR", format!("127.0.0.1:{port}"))
            .env("MINECOORD_LOG__LEVEL", "warn")
            .envs(settings.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start minecoord serve");
        // Killed and waited for on every path from here (Drop).
        let instance = Instance {
            base: format!("http://127.0.0.1:{port}"),
            child,
        };
        let client = reqwest::Client::new();
        for _ in 0..600 {
            if let Ok(r) = client.get(format!("{}/readyz", instance.base)).send().await {
                if r.status() == 200 {
                    return instance;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("instance on port {port} did not become ready");
    }

    /// Kills the process with SIGKILL and waits for it.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().unwrap();
    }

    /// Peak resident memory of the process in MiB (0 once it has gone).
    pub fn peak_mib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            / 1024
    }
}
