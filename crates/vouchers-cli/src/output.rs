//! Rendering on stdout: aligned tables for people, CSV and JSON for programs. JSON goes to stdout
//! alone; notes for people go to stderr.

use std::io::{self, Write};

use serde::Serialize;
use vouchers_core::domain::{format_rfc3339, AddOn, Conference, TicketType, Voucher};

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

/// Prints rows as CSV under a header row.
pub fn csv(header: &[&str], rows: &[Vec<String>]) -> Result<(), CliError> {
    let mut writer = csv::Writer::from_writer(io::stdout().lock());
    let to_io = |e: csv::Error| io::Error::other(e.to_string());
    writer.write_record(header).map_err(to_io)?;
    for row in rows {
        writer.write_record(row).map_err(to_io)?;
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
    render(items, format, &["slug", "name", "start_date", "end_date", "timezone"], |c| {
        vec![
            c.slug.clone(),
            c.name.clone(),
            c.start_date.to_string(),
            c.end_date.to_string(),
            c.timezone.name().to_owned(),
        ]
    })
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
    let applies = match (v.applicable_ticket_types.is_empty(), v.applicable_addons.is_empty()) {
        (true, true) => "everything".to_owned(),
        _ => {
            let list = |items: &[String]| if items.is_empty() { "all".to_owned() } else { items.join(",") };
            format!("tickets: {}; add-ons: {}", list(&v.applicable_ticket_types), list(&v.applicable_addons))
        }
    };
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

/// Streams vouchers into a file as CSV or JSON. It writes to a temporary file beside the target
/// and renames it into place in [`VoucherFile::finish`], so the file exists only for a committed
/// batch; dropped unfinished, it leaves nothing behind.
pub struct VoucherFile {
    path: std::path::PathBuf,
    out: FileOut,
}

/// The open document: a CSV writer, or a JSON array being written (and how many items so far).
enum FileOut {
    // Boxed: the CSV writer carries its own state (about 400 bytes); one per file.
    Csv(Box<csv::Writer<io::BufWriter<tempfile::NamedTempFile>>>),
    Json { out: io::BufWriter<tempfile::NamedTempFile>, written: usize },
}

fn csv_error(e: csv::Error) -> io::Error {
    io::Error::other(e.to_string())
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

    /// Opens a temporary file in the target's folder and writes the CSV header or the `[`.
    pub fn create(path: &std::path::Path, format: Format) -> Result<Self, CliError> {
        let dir = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => std::path::Path::new("."),
        };
        let temp = tempfile::NamedTempFile::new_in(dir)
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
                FileOut::Json { out, written: 0 }
            }
        };
        Ok(Self { path: path.to_owned(), out })
    }

    /// Appends vouchers.
    pub fn write(&mut self, vouchers: &[Voucher]) -> io::Result<()> {
        match &mut self.out {
            FileOut::Csv(writer) => {
                for v in vouchers {
                    writer.write_record(v.csv_record()).map_err(csv_error)?;
                }
            }
            FileOut::Json { out, written } => {
                for v in vouchers {
                    out.write_all(if *written == 0 { b"\n  " } else { b",\n  " })?;
                    serde_json::to_writer(&mut *out, v)?;
                    *written += 1;
                }
            }
        }
        Ok(())
    }

    /// Closes the document, makes it durable and moves it into place.
    pub fn finish(self) -> Result<(), CliError> {
        let buffered = match self.out {
            FileOut::Csv(writer) => (*writer).into_inner().map_err(|e| e.into_error())?,
            FileOut::Json { mut out, written } => {
                out.write_all(if written == 0 { b"]\n" } else { b"\n]\n" })?;
                out
            }
        };
        let temp = buffered.into_inner().map_err(|e| e.into_error())?;
        temp.as_file().sync_all()?;
        temp.persist(&self.path).map_err(|e| e.error)?;
        Ok(())
    }
}
