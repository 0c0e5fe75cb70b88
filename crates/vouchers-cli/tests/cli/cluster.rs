//! A PostgreSQL cluster a test owns: `initdb` and `pg_ctl` from `/usr/lib/postgresql/15/bin`,
//! run as the `postgres` user (they refuse root) in a temporary folder, on a free port of
//! 127.0.0.1; stopped and removed when dropped. The shared server on port 5432 is never touched.

use std::path::PathBuf;
use std::process::Command;

const BIN: &str = "/usr/lib/postgresql/15/bin";

/// A running (or stopped) private cluster.
pub struct Cluster {
    dir: tempfile::TempDir,
    pub port: u16,
}

fn run_as_postgres(args: &[&str]) -> std::process::Output {
    let output = Command::new("runuser").args(["-u", "postgres", "--"]).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run {args:?} as postgres ({e}): these tests need PostgreSQL 15's server binaries and root")
    });
    assert!(
        output.status.success(),
        "{args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Cluster {
    /// `initdb` (trust authentication) and start; `settings` are extra lines for
    /// `postgresql.conf`.
    pub fn start(settings: &[&str]) -> Cluster {
        Self::start_with(settings, None)
    }

    /// [`Cluster::start`] with `hba` as the whole `pg_hba.conf` (who may connect, and how).
    pub fn start_with(settings: &[&str], hba: Option<&str>) -> Cluster {
        let dir = tempfile::Builder::new().prefix("vouchers-pg-").tempdir().unwrap();
        let status = Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir.path()).status().unwrap();
        assert!(status.success(), "chown to postgres failed");
        let data = dir.path().join("data");
        run_as_postgres(&[
            &format!("{BIN}/initdb"),
            "-D",
            data.to_str().unwrap(),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        ]);
        let mut conf = String::from("fsync = off\nlisten_addresses = '127.0.0.1'\n");
        for line in settings {
            conf.push_str(line);
            conf.push('\n');
        }
        std::fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .and_then(|mut f| std::io::Write::write_all(&mut f, conf.as_bytes()))
            .unwrap();
        if let Some(hba) = hba {
            std::fs::write(data.join("pg_hba.conf"), hba).unwrap();
        }
        let cluster = Cluster { dir, port: free_port() };
        cluster.resume();
        cluster
    }

    /// The cluster's data folder.
    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A URL of database `name` on it, as the superuser.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Starts it (again), waiting until it accepts connections.
    pub fn resume(&self) {
        let options = format!("-p {} -k {}", self.port, self.dir.path().display());
        let log = self.dir.path().join("log");
        run_as_postgres(&[
            &format!("{BIN}/pg_ctl"),
            "-D",
            self.data().to_str().unwrap(),
            "-o",
            &options,
            "-l",
            log.to_str().unwrap(),
            "-w",
            "-t",
            "60",
            "start",
        ]);
    }

    /// Stops it at once, like a crash or a lost network: connections are cut, nothing answers.
    pub fn halt(&self) {
        run_as_postgres(&[
            &format!("{BIN}/pg_ctl"),
            "-D",
            self.data().to_str().unwrap(),
            "-m",
            "immediate",
            "-w",
            "stop",
        ]);
    }

    /// Creates a database on it.
    pub fn create_database(&self, name: &str) {
        let output = Command::new(format!("{BIN}/psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", "-d", "postgres", "-c"])
            .arg(format!("CREATE DATABASE {name}"))
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--", &format!("{BIN}/pg_ctl"), "-D"])
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}
