//! Conference voucher codes: the rules, the use cases and the storage behind them.
//!
//! - [`domain`]: checked value types (a [`domain::Prefix`] or a [`domain::Money`] is valid by
//!   construction). No I/O.
//! - [`service`]: one module per use case (`generate`, `add`, `catalog`, `query`); each write runs
//!   in one database transaction.
//! - [`store`]: the only place that writes SQL, with a SQLite and a PostgreSQL implementation of
//!   one narrow [`store::Store`] trait.
//!
//! The heart is [`service::generate::generate_voucher_codes`], a port of the Django
//! `voucher_service` module, with [`service::generate::VoucherBulkConfig`] as its configuration.

pub mod domain;
pub mod error;
pub mod service;
pub mod store;

pub use error::VoucherError;
pub use service::generate::{generate_voucher_codes, GeneratedBatch, VoucherBulkConfig};
pub use service::Limits;
pub use store::{connect, DatabaseUrl, Store};
