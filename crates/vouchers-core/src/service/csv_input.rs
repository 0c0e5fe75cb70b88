//! Reading a CSV file that people made (a spreadsheet's export): the header checked, each
//! record with its line number, and every way a hostile or broken file can go wrong turned into a
//! [`RowError`] that names the line.
//!
//! Cells are text, kept as written (trimmed): nothing here evaluates a formula-looking cell, and
//! every CSV this product writes passes cells through [`crate::domain::spreadsheet_safe`].

use std::io::Read;

use crate::domain::{quoted, InvalidInput, RowError};
use crate::VoucherError;

/// The most columns a header may name: every file this product reads has far fewer (an export
/// has 18, a recipients file `email`, `name` and at most 20 tags), and a header is refused before
/// any of its columns is compared.
pub const MAX_COLUMNS: usize = 100;

/// A CSV file being read: its columns (lower-cased, trimmed, without a byte-order mark) and its
/// records.
pub struct CsvRows<R: Read> {
    field: &'static str,
    columns: Vec<String>,
    records: csv::StringRecordsIntoIter<R>,
    /// Bad rows found so far (the caller stops at [`CsvRows::full`]).
    pub errors: Vec<RowError>,
    /// How many bad rows in all.
    pub error_count: usize,
}

impl<R: Read> CsvRows<R> {
    /// Opens `reader` as the CSV input `field`, checking that its header names every column of
    /// `required` once.
    pub fn open(reader: R, field: &'static str, required: &[&str]) -> Result<Self, VoucherError> {
        let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(reader);
        let header = reader.headers().map_err(|e| {
            InvalidInput::new(field, format!("{field}: line 1 (the header) cannot be read: {}", describe(&e)))
        })?;
        if header.len() > MAX_COLUMNS {
            return Err(InvalidInput::new(
                field,
                format!("{field}: the header has {} columns; a file may have at most {MAX_COLUMNS}", header.len()),
            )
            .into());
        }
        let columns: Vec<String> =
            header.iter().map(|c| c.trim_start_matches('\u{feff}').trim().to_ascii_lowercase()).collect();
        let mut seen = std::collections::HashSet::with_capacity(columns.len());
        for column in &columns {
            if !seen.insert(column.as_str()) {
                return Err(InvalidInput::new(
                    field,
                    format!("{field}: the header names the column {} twice", quoted(column)),
                )
                .into());
            }
        }
        let missing: Vec<&str> = required.iter().copied().filter(|r| !columns.iter().any(|c| c == r)).collect();
        if !missing.is_empty() {
            let shown: Vec<String> = columns.iter().take(20).map(|c| quoted(c)).collect();
            return Err(InvalidInput::new(
                field,
                format!(
                    "{field}: the header has no {} column{}; it needs {}, and has {}",
                    missing.join(", "),
                    if missing.len() > 1 { "s" } else { "" },
                    required.join(", "),
                    if shown.is_empty() { "none".to_owned() } else { shown.join(", ") }
                ),
            )
            .into());
        }
        Ok(Self { field, columns, records: reader.into_records(), errors: Vec::new(), error_count: 0 })
    }

    /// The columns, as the header names them.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The index of `column`.
    pub fn index(&self, column: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == column)
    }

    /// Keeps a bad row (the first [`VoucherError::ROWS_SHOWN`] are listed).
    pub fn reject(&mut self, error: RowError) {
        self.error_count += 1;
        if self.errors.len() < VoucherError::ROWS_SHOWN {
            self.errors.push(error);
        }
    }

    /// True when enough bad rows were found to stop reading: junk is not read to its end.
    pub fn full(&self) -> bool {
        self.error_count >= 10 * VoucherError::ROWS_SHOWN
    }

    /// The next well-formed record with its line number; a record that cannot be read (not
    /// UTF-8, a different number of cells) is rejected and skipped.
    pub fn next_record(&mut self) -> Option<(u64, Vec<String>)> {
        loop {
            if self.full() {
                return None;
            }
            match self.records.next()? {
                Ok(record) => {
                    let line = record.position().map_or(0, |p| p.line());
                    if record.iter().all(|cell| cell.trim().is_empty()) {
                        continue;
                    }
                    return Some((line, record.iter().map(|c| c.trim().to_owned()).collect()));
                }
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    let message = describe(&e);
                    self.reject(RowError::new(line, "", message));
                    if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                        return None;
                    }
                }
            }
        }
    }

    /// Ends the reading: [`VoucherError::InvalidRows`] when any row was bad.
    pub fn finish(self) -> Result<(), VoucherError> {
        if self.error_count == 0 {
            Ok(())
        } else {
            Err(VoucherError::InvalidRows { field: self.field, rows: self.errors, total: self.error_count })
        }
    }
}

/// What a person should know of a CSV reading error.
fn describe(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "is not UTF-8 text; save the file as CSV UTF-8".to_owned(),
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("has {len} cells where the header has {expected_len}")
        }
        csv::ErrorKind::Io(io) => format!("cannot be read: {io}"),
        _ => "is not valid CSV".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_numbered_and_bad_rows_named() {
        let data: &[u8] = b"\xef\xbb\xbfEmail , name,company\na@b.org,Ana,ACME\nb@b.org,Bo\nc@b.org,\"Cy\",\xff\n";
        let mut rows = CsvRows::open(data, "recipients", &["email", "name"]).unwrap();
        assert_eq!(rows.columns(), ["email", "name", "company"]);
        let (line, cells) = rows.next_record().unwrap();
        assert_eq!((line, cells), (2, vec!["a@b.org".to_owned(), "Ana".to_owned(), "ACME".to_owned()]));
        assert!(rows.next_record().is_none());
        assert_eq!(rows.error_count, 2);
        assert_eq!(rows.errors[0].line, 3);
        assert!(rows.errors[0].message.contains("2 cells"), "{:?}", rows.errors[0]);
        assert_eq!(rows.errors[1].line, 4);
        assert!(rows.errors[1].message.contains("UTF-8"), "{:?}", rows.errors[1]);
        let e = rows.finish().unwrap_err();
        assert_eq!(e.field(), Some("recipients"));
        assert!(e.to_string().contains("line 3"), "{e}");
    }

    #[test]
    fn a_missing_column_is_named() {
        let e = CsvRows::open("mail,name\n".as_bytes(), "recipients", &["email", "name"]).err().unwrap();
        assert!(e.to_string().contains("no email column"), "{e}");
        let e = CsvRows::open("email,email,name\n".as_bytes(), "recipients", &["email"]).err().unwrap();
        assert!(e.to_string().contains("twice"), "{e}");
        let e = CsvRows::open("email,name,Name\n".as_bytes(), "recipients", &["email"]).err().unwrap();
        assert!(e.to_string().contains("\"name\" twice"), "{e}");
    }

    #[test]
    fn a_header_wider_than_any_file_is_refused_before_it_is_compared() {
        let header = |n: usize| {
            let mut h = "email,name".to_owned();
            for i in 2..n {
                h.push_str(&format!(",c{i}"));
            }
            h.push('\n');
            h
        };
        assert!(CsvRows::open(header(MAX_COLUMNS).as_bytes(), "recipients", &["email"]).is_ok());
        let e = CsvRows::open(header(MAX_COLUMNS + 1).as_bytes(), "recipients", &["email"]).err().unwrap();
        assert!(e.to_string().contains("101 columns") && e.to_string().contains("at most 100"), "{e}");
        let e = CsvRows::open(header(100_000).as_bytes(), "recipients", &["email"]).err().unwrap();
        assert_eq!(e.field(), Some("recipients"));
    }
}
