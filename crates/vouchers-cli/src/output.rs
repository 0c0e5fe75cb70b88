//! Rendering on stdout: aligned tables for people, CSV and JSON for programs. JSON goes to stdout
//! alone; notes for people go to stderr.

use std::io::{self, Write};

use serde::Serialize;
use vouchers_core::domain::{format_rfc3339, spreadsheet_safe, AddOn, Conference, TicketType, Voucher};

use crate::cli::Format;
use crate::error::CliError;

/// Prints rows as space-aligned columns under a header.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut line = |cells: &mut dyn Iterator<Item = &str>| -> io::Result<()> {
        let text: Vec<String> = cells.zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        writeln!(out, "{}", text.join("  ").trim_end())
    };
    line(&mut header.iter().copied())?;
    for row in rows {
        line(&mut row.iter().map(String::as_str))?;
    }
    Ok(())
}

/// Prints a value as pretty JSON, alone on stdout.
pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<(), CliError> {
    let mut out = io::BufWriter::new(io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, value).map_err(io::Error::from)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

/// Prints rows as CSV under a header row, every cell safe to open in a spreadsheet.
pub fn csv(header: &[&str], rows: &[Vec<String>]) -> Result<(), CliError> {
    let mut writer = csv::Writer::from_writer(io::stdout().lock());
    let to_io = |e: csv::Error| io::Error::other(e.to_string());
    writer.write_record(header).map_err(to_io)?;
    for row in rows {
        writer.write_record(row.iter().map(|cell| spreadsheet_safe(cell.clone()))).map_err(to_io)?;
    }
    writer.flush()?;
    Ok(())
}

fn render<T: Serialize>(
    items: &[T],
    format: Format,
    header: &[&str],
    row: impl Fn(&T) -> Vec<String>,
) -> Result<(), CliError> {
    match format {
        Format::Json => json(items),
        Format::Csv => csv(header, &items.iter().map(row).collect::<Vec<_>>()),
        Format::Table => Ok(table(header, &items.iter().map(row).collect::<Vec<_>>())?),
    }
}

/// Conferences: a JSON array, CSV rows or a table.
pub fn conferences(items: &[Conference], format: Format) -> Result<(), CliError> {
    render(items, format, &["slug", "name", "start_date", "end_date", "timezone", "hold_seconds"], |c| {
        vec![
            c.slug.clone(),
            c.name.clone(),
            c.start_date.to_string(),
            c.end_date.to_string(),
            c.timezone.name().to_owned(),
            c.hold_seconds.to_string(),
        ]
    })
}

/// What an `update` did, on stderr (stdout keeps the record alone): the fields it changed, or
/// that the values given were the stored ones.
pub fn changed(what: &str, slug: &str, fields: &[&str]) {
    if fields.is_empty() {
        eprintln!("{what} {slug}: nothing changed (the values given are the stored ones)");
    } else {
        eprintln!("{what} {slug}: changed {}", fields.join(", "));
    }
}

/// Ticket types: a JSON array, CSV rows or a table.
pub fn ticket_types(items: &[TicketType], format: Format) -> Result<(), CliError> {
    render(items, format, &["conference", "slug", "name", "price", "requires_voucher", "is_active"], |t| {
        vec![
            t.conference.clone(),
            t.slug.clone(),
            t.name.clone(),
            t.price.to_string(),
            t.requires_voucher.to_string(),
            t.is_active.to_string(),
        ]
    })
}

/// Add-ons: a JSON array, CSV rows or a table.
pub fn addons(items: &[AddOn], format: Format) -> Result<(), CliError> {
    render(items, format, &["conference", "slug", "name", "price", "is_active"], |a| {
        vec![a.conference.clone(), a.slug.clone(), a.name.clone(), a.price.to_string(), a.is_active.to_string()]
    })
}

fn opt_time(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.as_ref().map(format_rfc3339).unwrap_or_default()
}

const VOUCHER_TABLE: [&str; 8] =
    ["code", "type", "discount", "uses", "valid_from", "valid_until", "applies_to", "batch"];

fn voucher_table_row(v: &Voucher) -> Vec<String> {
    let applies = vouchers_core::domain::applies_in_words(&v.applicable_ticket_types, &v.applicable_addons);
    let mut code = v.code.clone();
    if !v.is_active {
        code.push_str(" (inactive)");
    }
    if v.unlocks_hidden_tickets {
        code.push_str(" (unlocks hidden)");
    }
    vec![
        code,
        v.voucher_type.to_string(),
        v.discount_value.to_string(),
        format!("{}/{}", v.times_used, v.max_uses),
        opt_time(v.valid_from),
        opt_time(v.valid_until),
        applies,
        v.batch_id.map(|b| b.to_string()).unwrap_or_else(|| "-".to_owned()),
    ]
}

/// Several vouchers: a JSON array, CSV rows or a table.
pub fn vouchers(items: &[Voucher], format: Format) -> Result<(), CliError> {
    match format {
        Format::Json => json(items),
        Format::Csv => csv(&Voucher::CSV_COLUMNS, &items.iter().map(|v| v.csv_record().to_vec()).collect::<Vec<_>>()),
        Format::Table => Ok(table(&VOUCHER_TABLE, &items.iter().map(voucher_table_row).collect::<Vec<_>>())?),
    }
}

/// One voucher: a JSON object, one CSV row or a one-row table.
pub fn voucher(item: &Voucher, format: Format) -> Result<(), CliError> {
    match format {
        Format::Json => json(item),
        _ => vouchers(std::slice::from_ref(item), format),
    }
}

/// Streams vouchers into a file as CSV or JSON, so that nothing about the file can fail once the
/// batch is committed. Everything checkable is checked when it is created, before the batch's
/// transaction: the format, that the target is neither a folder nor a symbolic link, that it does
/// not exist (unless `--force`), that its folder takes a new file. The vouchers go to a temporary file beside the
/// target (`.NAME.partial-PID-XXXXXX`, mode 0600: codes are secrets), which is completed and made
/// durable as the last voucher arrives, still before the commit; [`VoucherFile::persist`] then
/// only renames it. Dropped unfinished, it leaves nothing behind.
pub struct VoucherFile {
    path: std::path::PathBuf,
    replace: bool,
    expected: u64,
    written: u64,
    out: Option<FileOut>,
    done: Option<tempfile::NamedTempFile>,
}

/// The open document: a CSV writer, or a JSON array being written.
enum FileOut {
    // Boxed: the CSV writer carries its own state (about 400 bytes); one per file.
    Csv(Box<csv::Writer<io::BufWriter<tempfile::NamedTempFile>>>),
    Json(io::BufWriter<tempfile::NamedTempFile>),
}

fn csv_error(e: csv::Error) -> io::Error {
    io::Error::other(e.to_string())
}

/// Removes the partial files a killed run left for the target `name` in `dir` (their writer is
/// gone), saying so on stderr. A partial file of a run still going is left alone.
fn remove_stale_partials(dir: &std::path::Path, name: &str) {
    let prefix = format!(".{name}.partial-");
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file.strip_prefix(&prefix) else { continue };
        let writer = rest.split('-').next().and_then(|pid| pid.parse::<u32>().ok());
        let alive = writer.is_some_and(|pid| std::path::Path::new("/proc").join(pid.to_string()).exists());
        if alive {
            continue;
        }
        if std::fs::remove_file(entry.path()).is_ok() {
            eprintln!("removed {}, left by an interrupted run (its batch was never committed)", entry.path().display());
        }
    }
}

impl VoucherFile {
    /// The format for `path`: an explicit `--format` (csv or json), else the file's extension.
    pub fn format_for(path: &std::path::Path, explicit: Option<Format>) -> Result<Format, CliError> {
        let by_extension = match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("csv") => Some(Format::Csv),
            Some("json") => Some(Format::Json),
            _ => None,
        };
        match explicit.or(by_extension) {
            Some(Format::Table) => Err(CliError::Input("--output: files are written as csv or json, not table".into())),
            Some(format) => Ok(format),
            None => Err(CliError::Input(format!(
                "--output: cannot tell the format of {} from its extension; name it .csv or .json, or pass --format",
                path.display()
            ))),
        }
    }

    /// Checks the target and opens the temporary file for `expected` vouchers, writing the CSV
    /// header or the `[`. `replace`: an existing file may be replaced (`--force`).
    pub fn create(path: &std::path::Path, format: Format, replace: bool, expected: i64) -> Result<Self, CliError> {
        let shown = path.display();
        // A symbolic link (dangling or not) is refused: the rename after the commit would replace
        // the link, or fail on it, and the batch would be committed without its file.
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(CliError::Input(format!(
                "--output: {shown} is a symbolic link; name the file itself (a new path, or an existing file with --force)"
            )));
        }
        if path.is_dir() {
            return Err(CliError::Input(format!("--output: {shown} is a folder; name a file in it")));
        }
        if path.exists() && !replace {
            return Err(CliError::Input(format!("--output: {shown} exists; pass --force to replace it")));
        }
        let dir = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => std::path::Path::new("."),
        };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        remove_stale_partials(dir, &name);
        // Named after its target and its writer's process id, so that a file left by a killed
        // run tells what it is, and the next run can tell it is stale.
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}.partial-{}-", std::process::id()))
            .tempfile_in(dir)
            .map_err(|e| CliError::Input(format!("--output: cannot write in {}: {e}", dir.display())))?;
        let buffered = io::BufWriter::new(temp);
        let out = match format {
            Format::Csv => {
                let mut writer = csv::Writer::from_writer(buffered);
                writer.write_record(Voucher::CSV_COLUMNS).map_err(csv_error)?;
                FileOut::Csv(Box::new(writer))
            }
            _ => {
                let mut out = buffered;
                out.write_all(b"[")?;
                FileOut::Json(out)
            }
        };
        let expected = u64::try_from(expected).unwrap_or(0);
        Ok(Self { path: path.to_owned(), replace, expected, written: 0, out: Some(out), done: None })
    }

    /// Appends vouchers; with the last one expected, completes the document and makes it durable.
    pub fn write(&mut self, vouchers: &[Voucher]) -> io::Result<()> {
        let Some(out) = self.out.as_mut() else {
            return Err(io::Error::other("more vouchers than the batch holds"));
        };
        match out {
            FileOut::Csv(writer) => {
                for v in vouchers {
                    writer.write_record(v.csv_record().map(spreadsheet_safe)).map_err(csv_error)?;
                }
            }
            FileOut::Json(out) => {
                for (i, v) in vouchers.iter().enumerate() {
                    out.write_all(if self.written == 0 && i == 0 { b"\n  " } else { b",\n  " })?;
                    serde_json::to_writer(&mut *out, v)?;
                }
            }
        }
        self.written += vouchers.len() as u64;
        if self.written >= self.expected {
            self.complete()?;
        }
        Ok(())
    }

    /// Closes the document and syncs it to disk.
    fn complete(&mut self) -> io::Result<()> {
        let buffered = match self.out.take() {
            None => return Ok(()),
            Some(FileOut::Csv(writer)) => (*writer).into_inner().map_err(|e| e.into_error())?,
            Some(FileOut::Json(mut out)) => {
                out.write_all(if self.written == 0 { b"]\n" } else { b"\n]\n" })?;
                out
            }
        };
        let temp = buffered.into_inner().map_err(|e| e.into_error())?;
        temp.as_file().sync_all()?;
        self.done = Some(temp);
        Ok(())
    }

    /// Moves the completed file into place (after the commit). Should even the rename fail (the
    /// target was created or turned into a folder meanwhile), the codes are kept in the
    /// temporary file and the error says where.
    pub fn persist(self) -> Result<(), CliError> {
        let Some(temp) = self.done else {
            return Err(CliError::Failure(anyhow::anyhow!("the output file was not completed")));
        };
        let placed = if self.replace { temp.persist(&self.path) } else { temp.persist_noclobber(&self.path) };
        placed.map(drop).map_err(|e| {
            let kept = e.file.keep().map(|(_, kept)| kept.display().to_string());
            let kept = kept.unwrap_or_else(|k| format!("(not kept: {})", k.error));
            CliError::Failure(anyhow::anyhow!(
                "the batch is committed, but its file could not be moved to {} ({}); the codes are in {kept}",
                self.path.display(),
                e.error
            ))
        })
    }
}
