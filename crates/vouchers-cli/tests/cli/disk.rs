//! A full disk, for real: a small tmpfs the test mounts holds the SQLite file, or a PostgreSQL
//! tablespace of a cluster the test owns. A write that fails for lack of space answers 503
//! `storage_full` with `Retry-After` (logged once, not once a request), `/readyz` answers 503
//! until a write succeeds again, the CLI exits 1 with the same sentence, nothing refused is
//! recorded, and service comes back by itself once space is freed. Mounting needs root: elsewhere
//! these tests say so and return (CI runs as root, so there they always run).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::cluster::Cluster;
use crate::support::*;

/// A tmpfs of `size` mounted on a new folder; unmounted and removed when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// `None` (with a message) when this process cannot mount: not root.
    fn mount(size: &str) -> Option<SmallDisk> {
        let uid = Command::new("id").arg("-u").output().ok()?;
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            eprintln!("SKIPPED: mounting a tmpfs needs root; the full-disk tests did not run");
            return None;
        }
        let dir = tempfile::Builder::new().prefix("vouchers-disk-").tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0777"), "tmpfs"])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "mount -t tmpfs failed (root, but no mount permission?)");
        Some(SmallDisk { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills what is left with a file (written until the disk refuses).
    fn fill(&self) {
        use std::io::Write;
        let mut file = std::fs::File::create(self.filler()).unwrap();
        let block = vec![0u8; 64 * 1024];
        while file.write_all(&block).is_ok() {}
        let _ = file.sync_all();
    }

    /// Frees the space [`SmallDisk::fill`] took.
    fn free(&self) {
        std::fs::remove_file(self.filler()).unwrap();
    }

    fn filler(&self) -> PathBuf {
        self.dir.path().join("filler")
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

/// Redeems `code` for `order` through `server`: status, body, `Retry-After`.
fn redeem(
    runtime: &tokio::runtime::Runtime,
    server: &Server,
    token: &str,
    code: &str,
    order: &str,
) -> (u16, Value, Option<String>) {
    runtime.block_on(async {
        let response = reqwest::Client::new()
            .post(format!("{}/api/v1/conferences/pycon/vouchers/redeem", server.base))
            .bearer_auth(token)
            .json(&json!({"code": code, "order_ref": order}))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let retry = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
        (status, response.json().await.unwrap_or(Value::Null), retry)
    })
}

fn readyz(runtime: &tokio::runtime::Runtime, server: &Server) -> (u16, Value) {
    runtime.block_on(async {
        let response = reqwest::get(format!("{}/readyz", server.base)).await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    })
}

/// The whole flow against `database`, whose storage is on `disk`; `d` is the working folder.
fn full_disk_flow(d: &Path, database: &str, disk: &SmallDisk) {
    create_conference(d, Some(database), "pycon", "PyCon");
    let token: Value = serde_json::from_str(&ok(vouchers(
        d,
        Some(database),
        &["token", "create", "--scope", "checkout", "--conference", "pycon", "--format", "json"],
    )))
    .unwrap();
    let token = token["token"].as_str().unwrap().to_owned();
    let generated: Value = serde_json::from_str(&ok(vouchers(
        d,
        Some(database),
        &[
            "generate",
            "--conference",
            "pycon",
            "--type",
            "comp",
            "--count",
            "1",
            "--max-uses",
            "1000000",
            "--format",
            "json",
        ],
    )))
    .unwrap();
    let code = generated[0]["code"].as_str().unwrap().to_owned();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = Server::start(d, database, "log");
    let (status, _, _) = redeem(&runtime, &server, &token, &code, "before-0");
    assert_eq!(status, 200, "a redemption with space to spare");

    // The disk fills up: redemptions go on until one needs space, then every one is refused.
    disk.fill();
    let mut accepted = 1;
    let mut refused = 0;
    for i in 0..5_000 {
        let (status, body, retry) = redeem(&runtime, &server, &token, &code, &format!("full-{i}"));
        match status {
            200 => accepted += 1,
            503 => {
                assert_eq!(body["error"]["code"], "storage_full", "{body}");
                assert_eq!(
                    body["error"]["message"],
                    "the database's disk is full; nothing was written, try again once space is freed"
                );
                assert!(retry.is_some(), "a Retry-After");
                refused += 1;
                if refused == 20 {
                    break;
                }
            }
            other => panic!("redemption {i}: {other} {body}"),
        }
    }
    assert_eq!(refused, 20, "the disk never filled up ({accepted} redemptions accepted)");
    let (status, body) = readyz(&runtime, &server);
    assert_eq!((status, body["error"]["code"].clone()), (503, json!("storage_full")), "{body}");
    // A check reads only: it is answered, and /readyz still says the disk is full.
    let checked = runtime.block_on(async {
        reqwest::Client::new()
            .post(format!("{}/api/v1/conferences/pycon/vouchers/check", server.base))
            .bearer_auth(&token)
            .json(&json!({"code": code}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    assert_eq!(checked, 200);
    assert_eq!(readyz(&runtime, &server).0, 503, "a read does not clear a full disk");
    // The CLI says the same, exit status 1, once its write needs space (a write that still
    // fits in the files' own room succeeds, as through the server).
    let mut cli_refused = false;
    for i in 0..200 {
        let order = format!("cli-full-{i}");
        let out = vouchers(d, Some(database), &["redeem", "--conference", "pycon", "--order-ref", &order, &code]);
        let said = String::from_utf8_lossy(&out.stderr);
        match out.status.code() {
            Some(0) => accepted += 1,
            Some(1) => {
                assert!(said.contains("the database's disk is full"), "{said}");
                cli_refused = true;
                break;
            }
            other => panic!("vouchers redeem: {other:?} {said}"),
        }
    }
    assert!(cli_refused, "the CLI never met the full disk");
    let logs = server.logs();
    assert_eq!(logs.matches("the database's disk is full; writes fail").count(), 1, "logged once: {logs}");
    assert!(!logs.contains("internal server error"), "{logs}");

    // Space comes back: the next write succeeds, and so does /readyz.
    disk.free();
    let (status, body, _) = redeem(&runtime, &server, &token, &code, "after-0");
    assert_eq!(status, 200, "{body}");
    accepted += 1;
    assert_eq!(readyz(&runtime, &server).0, 200);
    assert_eq!(server.stop().code(), Some(0));
    // Exactly the accepted redemptions were recorded.
    let shown: Value = serde_json::from_str(&ok(vouchers(
        d,
        Some(database),
        &["show", "--conference", "pycon", &code, "--format", "json"],
    )))
    .unwrap();
    assert_eq!(shown["times_used"], json!(accepted), "refused redemptions left nothing");
    disk.fill();
    serve_on_a_full_disk(d, database, &token, &code);
    disk.free();
}

/// `serve` started on a full disk: it refuses to start saying the disk is full, or it starts and
/// its first write says so; never a bare "disk I/O error".
fn serve_on_a_full_disk(d: &Path, database: &str, token: &str, code: &str) {
    use std::io::BufRead;
    let mut child = KillOnDrop::spawn(
        command(d, Some(database))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped()),
    )
    .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.take_stdout().unwrap()).read_line(&mut line).unwrap();
    match line.trim().strip_prefix("listening on ") {
        Some(base) => {
            // Writes go on while pages have room, then are refused for the disk.
            let runtime = tokio::runtime::Runtime::new().unwrap();
            let client = reqwest::Client::new();
            let mut refused = false;
            for i in 0..5_000 {
                let (status, body) = runtime.block_on(async {
                    let response = client
                        .post(format!("{base}/api/v1/conferences/pycon/vouchers/redeem"))
                        .bearer_auth(token)
                        .json(&json!({"code": code, "order_ref": format!("serve-full-{i}")}))
                        .send()
                        .await
                        .unwrap();
                    (response.status().as_u16(), response.json::<Value>().await.unwrap())
                });
                if status == 503 {
                    assert_eq!(body["error"]["code"], "storage_full", "{body}");
                    refused = true;
                    break;
                }
                assert_eq!(status, 200, "{body}");
            }
            let _ = child.kill();
            assert!(refused, "a server started on a full disk never said so");
        }
        None => {
            let out = child.wait_with_output().unwrap();
            let said = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{said}");
            assert!(said.contains("the database's disk is full") && !said.contains("code 4874"), "{said}");
        }
    }
}

/// The flow with the database on a small disk: on SQLite its file on a 3 MB tmpfs, on
/// PostgreSQL a database in a tablespace on an 8 MB one, in a cluster the test owns.
fn a_full_disk_answers_storage_full_and_recovers(backend: Backend) {
    match backend {
        Backend::Sqlite => {
            let Some(disk) = SmallDisk::mount("3m") else { return };
            // Only the database is on the small disk: the server's log is not.
            let work = tempfile::tempdir().unwrap();
            let database = disk.path().join("vouchers.db");
            full_disk_flow(work.path(), database.to_str().unwrap(), &disk);
        }
        Backend::Postgres => {
            let Some(disk) = SmallDisk::mount("8m") else { return };
            let space = disk.path().join("space");
            std::fs::create_dir(&space).unwrap();
            let status = Command::new("chown").args(["postgres:postgres"]).arg(&space).status().unwrap();
            assert!(status.success());
            let cluster = Cluster::start(&[]);
            let psql = |sql: &str| {
                let output = Command::new("/usr/lib/postgresql/15/bin/psql")
                    .args([
                        "-h",
                        "127.0.0.1",
                        "-p",
                        &cluster.port.to_string(),
                        "-U",
                        "postgres",
                        "-d",
                        "postgres",
                        "-c",
                    ])
                    .arg(sql)
                    .output()
                    .unwrap();
                assert!(output.status.success(), "{sql}: {}", String::from_utf8_lossy(&output.stderr));
            };
            psql(&format!("CREATE TABLESPACE small LOCATION '{}'", space.display()));
            psql("CREATE DATABASE vouchers TABLESPACE small");
            let work = tempfile::tempdir().unwrap();
            full_disk_flow(work.path(), &cluster.url("vouchers"), &disk);
            drop(cluster);
        }
    }
}

both_backends!(a_full_disk_answers_storage_full_and_recovers);
