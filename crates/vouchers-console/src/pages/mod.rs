//! The pages, one module per group; each handler parses the form or query, calls one use case
//! of `vouchers-core` and renders a template (or redirects after a change).

mod batches;
mod catalog;
mod conferences;
mod dashboard;
mod generate;
mod login;
mod recipients;
mod terms;
mod tokens;
mod try_code;
mod vouchers;

use axum::routing::{get, post};
use axum::Router;

use crate::ConsoleState;

/// Every page's route.
pub(crate) fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/console/login", get(login::form).post(login::sign_in))
        .route("/console/logout", post(login::sign_out))
        .route("/console", get(conferences::list))
        .route("/console/conferences", post(conferences::create))
        .route("/console/c/{conf}", get(dashboard::show))
        .route("/console/c/{conf}/catalog", get(catalog::show))
        .route("/console/c/{conf}/ticket-types", post(catalog::create_ticket_type))
        .route("/console/c/{conf}/addons", post(catalog::create_addon))
        .route("/console/c/{conf}/vouchers", get(vouchers::list))
        .route("/console/c/{conf}/vouchers/new", get(vouchers::new_form).post(vouchers::add))
        .route("/console/c/{conf}/vouchers/{code}", get(vouchers::show).post(vouchers::edit))
        .route("/console/c/{conf}/generate", get(generate::form).post(generate::submit))
        .route("/console/c/{conf}/batches/{id}", get(batches::show))
        .route("/console/c/{conf}/batches/{id}/codes.csv", get(batches::download))
        .route("/console/c/{conf}/batches/{id}/deactivate", get(batches::confirm).post(batches::deactivate))
        .route("/console/c/{conf}/batches/{id}/assign", get(recipients::assign_form).post(recipients::assign))
        .route("/console/c/{conf}/batches/{id}/send", get(recipients::send_form).post(recipients::send))
        .route("/console/c/{conf}/batches/{id}/outbox/{msg}/retry", post(recipients::retry))
        .route("/console/c/{conf}/tokens", get(tokens::list).post(tokens::create))
        .route("/console/c/{conf}/tokens/{id}/revoke", post(tokens::revoke))
        .route("/console/c/{conf}/try", get(try_code::show))
}
