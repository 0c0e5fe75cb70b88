//! What the two web faces (the API in `vouchers-http`, the console in `vouchers-console`) share
//! over HTTP, so that neither depends on the other: both depend on the core and on this.
//!
//! - [`client_address`]: the address every per-address limit counts;
//! - [`status`], [`log_disk_full`], [`mark_disk_full`]: what a use case's error means over HTTP;
//! - [`csv_download`]: the vouchers as a streamed CSV file;
//! - [`logged_path`]: a request's path as its log line may show it (no secret).
//!
//! Nothing here decides a rule: the rules are in `vouchers-core`.

mod address;
mod download;
mod errors;
mod logged;

pub use address::client_address;
pub use download::{csv_download, csv_download_matching};
pub use errors::{log_disk_full, mark_disk_full, status, StorageFullMarker, DISK_FULL_RETRY_AFTER};
pub use logged::logged_path;
