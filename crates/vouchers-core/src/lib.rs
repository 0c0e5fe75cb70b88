//! Conference voucher codes: the rules, the use cases and the storage behind them.
//!
//! - [`domain`]: checked value types (a [`domain::Prefix`] or a [`domain::Money`] is valid by
//!   construction). No I/O.
//! - [`service`]: one module per use case (`generate`, `add`, `catalog`, `query`, `checkout`,
//!   `manage`, `tokens`); each write runs in one database transaction. They return typed answers
//!   and [`VoucherError`], never a database error.
//! - [`mail`]: the SMTP sender of the outbox (`lettre`), behind [`service::outbox::Mailer`].
//! - [`store`]: the only place that writes SQL, with a SQLite and a PostgreSQL implementation of
//!   one narrow [`store::Store`] trait.
//!
//! The heart is [`service::generate::generate_voucher_codes`], a port of the Django
//! `voucher_service` module (`django_program.registration.services.voucher_service`), with
//! [`service::generate::VoucherBulkConfig`] as its configuration.

pub mod domain;
pub mod error;
pub mod mail;
pub mod service;
pub mod store;
pub mod webhook_http;

pub use error::{cause_chain, ErrorBody, ErrorDetail, ErrorKind, VoucherError};
pub use service::generate::{
    generate_voucher_codes, generate_voucher_codes_with, GenerateOptions, Generated, GeneratedBatch, VoucherBulkConfig,
};
pub use service::terms::VoucherTerms;
pub use service::{connect, now, Limits};
pub use store::{DatabaseUrl, Store};
