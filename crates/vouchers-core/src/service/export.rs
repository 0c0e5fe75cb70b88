//! Every voucher of a conference (or of one batch) as CSV, read page by page so that memory
//! stays flat whatever the number of vouchers: the API's export and the console's download.

use std::sync::Arc;

use futures::Stream;

use crate::domain::{spreadsheet_safe, Voucher};
use crate::service::query;
use crate::store::VoucherFilter;
use crate::{Store, VoucherError};

/// Vouchers read from the store per round trip (one chunk of the stream).
pub const PAGE: i64 = 1000;

/// One page as CSV, with the header row first when `header`; every cell safe to open in a
/// spreadsheet ([`spreadsheet_safe`]).
fn csv_chunk(header: bool, vouchers: &[Voucher]) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::with_capacity(vouchers.len() * 160 + 200));
    if header {
        writer.write_record(Voucher::CSV_COLUMNS)?;
    }
    for v in vouchers {
        writer.write_record(v.csv_record().map(spreadsheet_safe))?;
    }
    writer.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// Where the stream is: after which id, and whether the header went out.
struct Cursor {
    store: Arc<dyn Store>,
    conference: String,
    filter: VoucherFilter,
    after_id: i64,
    header_sent: bool,
    done: bool,
}

async fn next_chunk(mut cursor: Cursor) -> Option<(Result<Vec<u8>, VoucherError>, Cursor)> {
    if cursor.done {
        return None;
    }
    let filter = VoucherFilter { after_id: Some(cursor.after_id), limit: Some(PAGE), ..cursor.filter.clone() };
    let page = match query::list_vouchers(cursor.store.as_ref(), &cursor.conference, &filter).await {
        Ok(page) => page,
        Err(error) => {
            cursor.done = true;
            return Some((Err(error), cursor));
        }
    };
    cursor.done = page.len() < usize::try_from(PAGE).unwrap_or(usize::MAX);
    if page.is_empty() && cursor.header_sent {
        return None;
    }
    let chunk = csv_chunk(!cursor.header_sent, &page).map_err(|e| VoucherError::Sink(std::io::Error::other(e)));
    cursor.header_sent = true;
    if let Some(last) = page.last() {
        cursor.after_id = last.id;
    }
    Some((chunk, cursor))
}

/// The CSV of every voucher `filter` matches (its paging ignored), a header row then one chunk
/// per [`PAGE`] vouchers, in id order. A read that fails ends the stream with its error.
pub fn csv_pages(
    store: Arc<dyn Store>,
    conference: String,
    filter: VoucherFilter,
) -> impl Stream<Item = Result<Vec<u8>, VoucherError>> + Send {
    let cursor = Cursor { store, conference, filter, after_id: 0, header_sent: false, done: false };
    futures::stream::unfold(cursor, next_chunk)
}

/// The CSV of these vouchers (a selection, at most [`crate::service::manage::MAX_BULK`] of
/// them), header row first, in the order given.
///
/// # Errors
/// [`VoucherError::Sink`] if the CSV cannot be written.
pub fn csv_of(vouchers: &[Voucher]) -> Result<Vec<u8>, VoucherError> {
    csv_chunk(true, vouchers).map_err(|e| VoucherError::Sink(std::io::Error::other(e)))
}
