//! PostgreSQL's part of the load run: a database of its own, the `pgbench` floors, and the
//! invariant checks (which read either database through sqlx).

use std::process::Command;

use anyhow::{bail, Context, Result};
use sqlx::{Connection, Executor};
use vouchers_core::store::DatabaseUrl;

use super::report::Check;
use super::server::Deployment;
use super::wrk::Measured;

pub async fn create_database(server: &str, database: &str) -> Result<()> {
    let mut admin = sqlx::PgConnection::connect(server)
        .await
        .with_context(|| format!("connecting to {}", DatabaseUrl::new(server)))?;
    admin.execute(format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)").as_str()).await?;
    admin.execute(format!("CREATE DATABASE {database}").as_str()).await?;
    Ok(())
}

pub async fn drop_database(server: &str, database: &str) -> Result<()> {
    let mut admin = sqlx::PgConnection::connect(server).await?;
    admin.execute(format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)").as_str()).await?;
    Ok(())
}

pub fn with_database(server: &str, database: &str) -> Result<String> {
    let mut url = url::Url::parse(server)?;
    url.set_path(database);
    Ok(url.to_string())
}

/// `pgbench -S` (one indexed SELECT per transaction) and `pgbench -b simple-update` (UPDATE,
/// SELECT, INSERT in one transaction) with `clients` clients, in a database of their own.
pub fn pgbench_floors(
    server: &str,
    database: &str,
    clients: u32,
    duration: u64,
) -> Result<Vec<(&'static str, Measured)>> {
    let pgbench_db = format!("{database}_pgbench");
    let url = with_database(server, &pgbench_db)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(create_database(server, &pgbench_db))?;
    let result = (|| {
        pgbench(&url, &["-i", "-q", "-s", "1"])?;
        let threads = clients.min(2).to_string();
        let clients = clients.to_string();
        let duration = duration.to_string();
        let mut floors = Vec::new();
        for (name, mode) in [("pgbench -S", "select-only"), ("pgbench simple-update", "simple-update")] {
            let out = pgbench(&url, &["-n", "-b", mode, "-c", &clients, "-j", &threads, "-T", &duration, "-r"])?;
            floors.push((name, Measured::from_pgbench(&out)?));
        }
        Ok(floors)
    })();
    runtime.block_on(drop_database(server, &pgbench_db))?;
    result
}

/// `pgbench` running the checkout's own query (`PostgresStore::checkout_statement`, prepared, as
/// `serve` runs it) with `clients` clients against the load database: the database's limit for
/// exactly the read a `check` makes, without HTTP.
pub fn pgbench_check_query(url: &str, token_hash: &str, code: &str, clients: u32, duration: u64) -> Result<Measured> {
    let dir = tempfile::tempdir()?;
    let script = dir.path().join("check.sql");
    let sql = vouchers_core::store::PostgresStore::checkout_statement()
        .replace("$1", ":hash")
        .replace("$2", "'load'")
        .replace("$3", ":code")
        .replace("$4", "'127.0.0.1'")
        .replace("$5", "now() - interval '1 minute'")
        .replace("$6", ":key");
    // pgbench reads one statement per line unless it ends with a semicolon; keep it on one line.
    std::fs::write(&script, format!("{};\n", sql.split_whitespace().collect::<Vec<_>>().join(" ")))?;
    let (threads, clients, duration) = (clients.min(2).to_string(), clients.to_string(), duration.to_string());
    let hash = format!("hash={token_hash}");
    let key = format!("key={}", vouchers_core::domain::fold_key(code));
    let code = format!("code={code}");
    let script = script.display().to_string();
    let out = pgbench(
        url,
        &[
            "-n", "-M", "prepared", "-c", &clients, "-j", &threads, "-T", &duration, "-D", &hash, "-D", &code, "-D",
            &key, "-f", &script,
        ],
    )?;
    Measured::from_pgbench(&out)
}

fn pgbench(url: &str, args: &[&str]) -> Result<String> {
    let output = Command::new("pgbench").args(args).arg(url).output().context("running pgbench")?;
    if !output.status.success() {
        bail!("pgbench {} failed: {}", args.join(" "), String::from_utf8_lossy(&output.stderr));
    }
    Ok(String::from_utf8(output.stdout)?)
}

/// Every voucher's `times_used` equals its unreleased redemptions and stays within `max_uses`;
/// every redemption answered 200 is stored. A run stops with up to one request per connection in
/// flight, which the server may still complete unanswered: at most `in_flight` more are stored.
pub async fn invariants(deployment: &Deployment, acknowledged: u64, in_flight: u64, race: bool) -> Result<Vec<Check>> {
    const MISMATCHED: &str = "SELECT count(*) FROM voucher v WHERE v.times_used <> \
        (SELECT count(*) FROM redemption r WHERE r.voucher_id = v.id AND r.released_at IS NULL)";
    let db = deployment.name();
    let (mismatched, stored, over): (i64, i64, i64) = if deployment.is_postgres() {
        let mut conn = sqlx::PgConnection::connect(deployment.url()).await?;
        let mismatched: i64 = sqlx::query_scalar(MISMATCHED).fetch_one(&mut conn).await?;
        let stored: i64 = sqlx::query_scalar(stored_sql(race)).fetch_one(&mut conn).await?;
        let over: i64 =
            sqlx::query_scalar("SELECT count(*) FROM voucher WHERE times_used > max_uses").fetch_one(&mut conn).await?;
        (mismatched, stored, over)
    } else {
        let path = deployment.url().trim_start_matches("sqlite://").to_owned();
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path).read_only(true);
        let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
        let mismatched: i64 = sqlx::query_scalar(MISMATCHED).fetch_one(&mut conn).await?;
        let stored: i64 = sqlx::query_scalar(stored_sql(race)).fetch_one(&mut conn).await?;
        let over: i64 =
            sqlx::query_scalar("SELECT count(*) FROM voucher WHERE times_used > max_uses").fetch_one(&mut conn).await?;
        (mismatched, stored, over)
    };
    let label = if race { "two instances: " } else { "" };
    Ok(vec![
        Check::new(
            db,
            format!("{label}times_used = unreleased redemptions"),
            mismatched == 0,
            format!("{mismatched} vouchers differ"),
        ),
        Check::new(db, format!("{label}times_used <= max_uses"), over == 0, format!("{over} vouchers over")),
        Check::new(
            db,
            format!("{label}every redemption answered 200 is stored"),
            u64::try_from(stored).is_ok_and(|stored| stored >= acknowledged && stored <= acknowledged + in_flight),
            format!("{acknowledged} answered, {stored} stored (at most {in_flight} in flight at the ends of runs)"),
        ),
    ])
}

/// Redemptions of the redeem and mix runs (codes `R…`/`M…`), or of the two-instance race (`TWO…`).
fn stored_sql(race: bool) -> &'static str {
    if race {
        "SELECT count(*) FROM redemption r JOIN voucher v ON v.id = r.voucher_id WHERE v.code LIKE 'TWO%'"
    } else {
        "SELECT count(*) FROM redemption r JOIN voucher v ON v.id = r.voucher_id WHERE v.code NOT LIKE 'TWO%'"
    }
}
