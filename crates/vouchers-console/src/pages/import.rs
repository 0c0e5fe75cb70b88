//! Importing codes chosen elsewhere from a CSV file, in two steps: the upload is checked by the
//! import itself in a transaction that is rolled back (the preview: how many vouchers, the
//! first rows, or every bad line), then the confirmation imports the same file, checked again,
//! as one batch. Nothing is written before the confirmation, nor by a refused one.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use vouchers_core::domain::{BatchLabel, Conference, RowError};
use vouchers_core::service::import::{self, ImportPreview, IMPORT_COLUMNS};
use vouchers_core::VoucherError;

use super::batches::batch_url;
use crate::error::ConsoleError;
use crate::form::{FormData, MAX_FILE_BYTES};
use crate::session::{Posted, Signed};
use crate::view::{discount, field_error, page, Nav};
use crate::ConsoleState;

/// A row of the preview's table.
struct Row {
    line: u64,
    code: String,
    kind: String,
    discount: String,
    max_uses: i64,
    recipient: String,
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    nav: Option<Nav>,
    slug: String,
    columns: String,
    max_kb: usize,
    values: FormData,
    errors: Vec<(String, String)>,
    /// The bad lines, when the file has some, and how many in all.
    bad_rows: Vec<RowError>,
    bad_total: usize,
    /// The checked file, ready to import: its preview and its text (base64) for the confirmation.
    preview: Option<(ImportPreview, Vec<Row>, String)>,
}

impl ImportPage {
    fn error(&self, field: &str) -> Option<&str> {
        field_error(&self.errors, field)
    }

    fn value(&self, field: &str) -> String {
        self.values.text(field)
    }
}

struct Shown {
    values: FormData,
    errors: Vec<(String, String)>,
    bad: Option<(Vec<RowError>, usize)>,
    preview: Option<(ImportPreview, String)>,
}

fn render(signed: &Signed, conference: &Conference, shown: Shown) -> Result<Response, ConsoleError> {
    let refused = !shown.errors.is_empty() || shown.bad.is_some();
    let status = if refused { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let (bad_rows, bad_total) = shown.bad.unwrap_or_default();
    let preview = shown.preview.map(|(preview, file)| {
        let rows = preview
            .first
            .iter()
            .map(|r| Row {
                line: r.line,
                code: r.code.clone(),
                kind: r.voucher_type.to_string(),
                discount: discount(r.voucher_type, &r.discount_value),
                max_uses: r.max_uses,
                recipient: r.recipient.clone().unwrap_or_default(),
            })
            .collect();
        (preview, rows, file)
    });
    page(
        status,
        &ImportPage {
            nav: Some(Nav::new(signed, Some(conference))),
            slug: conference.slug.clone(),
            columns: IMPORT_COLUMNS.join(", "),
            max_kb: MAX_FILE_BYTES / 1024,
            values: shown.values,
            errors: shown.errors,
            bad_rows,
            bad_total,
            preview,
        },
    )
}

/// Where a refusal goes: bad lines listed, any other rule beside its field.
fn refusal(values: FormData, error: VoucherError) -> Result<Shown, VoucherError> {
    match error {
        VoucherError::InvalidRows { rows, total, .. } => {
            Ok(Shown { values, errors: Vec::new(), bad: Some((rows, total)), preview: None })
        }
        e if e.is_input_error() => {
            let field = match e.field() {
                Some("name") => "name",
                Some("note") => "note",
                _ => "file",
            };
            Ok(Shown { values, errors: vec![(field.to_owned(), crate::view::said(&e))], bad: None, preview: None })
        }
        e => Err(e),
    }
}

/// The upload form.
pub(crate) async fn form(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path(conf): Path<String>,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let shown = Shown { values: FormData::default(), errors: Vec::new(), bad: None, preview: None };
    render(&signed, &conference, shown)
}

/// Checks the uploaded file and shows what importing it would do; writes nothing.
pub(crate) async fn preview(
    State(state): State<ConsoleState>,
    Path(conf): Path<String>,
    Posted { signed, form }: Posted,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let text = form.secret("file").to_owned();
    if text.trim().is_empty() {
        let errors = vec![("file".to_owned(), "Choose a CSV file to import.".to_owned())];
        return render(&signed, &conference, Shown { values: form, errors, bad: None, preview: None });
    }
    if let Err(e) = BatchLabel::parse(form.secret("name"), form.secret("note")) {
        let errors = vec![(e.field.to_owned(), vouchers_core::domain::labelled(&e.message, e.field))];
        return render(&signed, &conference, Shown { values: form, errors, bad: None, preview: None });
    }
    let shown = match import::preview_import(state.store.as_ref(), &conference.slug, text.as_bytes()).await {
        Ok(preview) => {
            let file = URL_SAFE_NO_PAD.encode(text.as_bytes());
            Shown { values: form, errors: Vec::new(), bad: None, preview: Some((preview, file)) }
        }
        Err(e) => refusal(form, e)?,
    };
    render(&signed, &conference, shown)
}

/// Imports the previewed file (checked again: a code taken since the preview refuses it).
pub(crate) async fn confirm(
    State(state): State<ConsoleState>,
    Path(conf): Path<String>,
    Posted { signed, form }: Posted,
) -> Result<Response, ConsoleError> {
    let conference = signed.conference(&state, &conf).await?;
    let file = URL_SAFE_NO_PAD
        .decode(form.get("file_base64").unwrap_or_default())
        .ok()
        .filter(|bytes| bytes.len() <= MAX_FILE_BYTES)
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| ConsoleError::Invalid("The confirmation lost its file: upload it again.".into()))?;
    let label = match BatchLabel::parse(form.secret("name"), form.secret("note")) {
        Ok(label) => label,
        Err(e) => {
            let errors = vec![(e.field.to_owned(), vouchers_core::domain::labelled(&e.message, e.field))];
            return render(&signed, &conference, Shown { values: form, errors, bad: None, preview: None });
        }
    };
    let store = signed.store(&state);
    match import::import_named(store.as_ref(), &conference.slug, &label, file.as_bytes()).await {
        Ok(done) => {
            tracing::info!(account = %signed.session.account.email, batch = done.batch.id, imported = done.imported, "codes imported");
            let said = match done.imported {
                1 => format!("1 voucher imported into {}", done.batch.title()),
                n => format!("{n} vouchers imported into {}", done.batch.title()),
            };
            Ok(crate::flash::redirect(&state, &batch_url(&conference, done.batch.id), &said))
        }
        Err(e) => render(&signed, &conference, refusal(form, e)?),
    }
}
