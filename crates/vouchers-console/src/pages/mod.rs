//! The pages, one module per group; each handler parses the form or query, calls one use case
//! of `vouchers-core` and renders a template (or redirects after a change).

mod accounts;
mod allotments;
mod audit;
mod batches;
mod bulk;
mod catalog;
mod conferences;
mod dashboard;
mod generate;
mod import;
mod login;
mod outbox;
mod recipients;
mod reports;
mod settings;
mod sponsor;
mod terms;
mod tokens;
mod try_code;
mod vouchers;
mod webhooks;

use axum::handler::Handler;
use axum::routing::{get, post};
use axum::Router;

use crate::error::ConsoleError;
use crate::ConsoleState;

/// The id in a page's path: anything that is not a number is the same 404 as an id that names
/// nothing.
pub(crate) fn id_of(id: &str) -> Result<i64, ConsoleError> {
    id.parse::<i64>().map_err(|_| ConsoleError::NotFound)
}

/// A list's `batch` filter: empty for any batch, else a batch number from 1; the message names
/// the field.
pub(crate) fn batch_filter(text: &str) -> Result<Option<i64>, String> {
    match text.trim() {
        "" => Ok(None),
        text => text
            .parse::<i64>()
            .ok()
            .filter(|b| *b > 0)
            .map(Some)
            .ok_or_else(|| format!("batch must be a batch number, got {}", vouchers_core::domain::quoted(text))),
    }
}

/// The console's routes: the router, and every path that takes a POST. Routes are added only
/// through [`Routes::page`], [`Routes::form`] and [`Routes::page_and_form`], so the list of
/// POST paths is complete by construction (the test that proves every form refuses a forged
/// post walks it).
pub(crate) struct Routes {
    pub router: Router<ConsoleState>,
    pub posts: Vec<&'static str>,
}

impl Routes {
    /// A page: GET only.
    fn page<H: Handler<T, ConsoleState>, T: 'static>(mut self, path: &'static str, handler: H) -> Self {
        self.router = self.router.route(path, get(handler));
        self
    }

    /// A form's handler: POST only.
    fn form<H: Handler<T, ConsoleState>, T: 'static>(mut self, path: &'static str, handler: H) -> Self {
        self.router = self.router.route(path, post(handler));
        self.posts.push(path);
        self
    }

    /// A page and the handler of the form it shows, on one path.
    fn page_and_form<G, TG, P, TP>(mut self, path: &'static str, page: G, form: P) -> Self
    where
        G: Handler<TG, ConsoleState>,
        P: Handler<TP, ConsoleState>,
        TG: 'static,
        TP: 'static,
    {
        self.router = self.router.route(path, get(page).post(form));
        self.posts.push(path);
        self
    }
}

/// Every page's route.
pub(crate) fn routes() -> Routes {
    Routes { router: Router::new(), posts: Vec::new() }
        .page_and_form("/console/login", login::form, login::sign_in)
        .form("/console/logout", login::sign_out)
        .page("/console", conferences::list)
        .form("/console/conferences", conferences::create)
        .page_and_form("/console/accounts", accounts::list, accounts::create)
        .page("/console/accounts/{id}", accounts::show)
        .form("/console/accounts/{id}/grant", accounts::grant)
        .page_and_form("/console/accounts/{id}/revoke/{conf}", accounts::confirm_revoke, accounts::revoke)
        .form("/console/accounts/{id}/link", accounts::new_link)
        .page_and_form("/console/accounts/{id}/disable", accounts::confirm_disable, accounts::disable)
        .form("/console/accounts/{id}/enable", accounts::enable)
        .page_and_form("/console/set-password/{secret}", accounts::set_password_form, accounts::set_password)
        .page("/console/c/{conf}", dashboard::show)
        .page("/console/c/{conf}/catalog", catalog::show)
        .form("/console/c/{conf}/ticket-types", catalog::create_ticket_type)
        .form("/console/c/{conf}/addons", catalog::create_addon)
        .page_and_form(
            "/console/c/{conf}/catalog/ticket-types/{slug}",
            catalog::ticket_type_form,
            catalog::update_ticket_type,
        )
        .page_and_form("/console/c/{conf}/catalog/addons/{slug}", catalog::addon_form, catalog::update_addon)
        .page_and_form("/console/c/{conf}/settings", settings::form, settings::save)
        .page("/console/c/{conf}/audit", audit::list)
        .page("/console/c/{conf}/vouchers", vouchers::list)
        .form("/console/c/{conf}/bulk", bulk::submit)
        .form("/console/c/{conf}/bulk/deactivate", bulk::deactivate)
        .page_and_form("/console/c/{conf}/vouchers/new", vouchers::new_form, vouchers::add)
        .page_and_form("/console/c/{conf}/vouchers/{code}", vouchers::show, vouchers::edit)
        .page_and_form("/console/c/{conf}/generate", generate::form, generate::submit)
        .page_and_form("/console/c/{conf}/import", import::form, import::preview)
        .form("/console/c/{conf}/import/confirm", import::confirm)
        .page("/console/c/{conf}/batches", batches::list)
        .page("/console/c/{conf}/batches/{id}", batches::show)
        .page("/console/c/{conf}/batches/{id}/codes.csv", batches::download)
        .form("/console/c/{conf}/batches/{id}/label", batches::label)
        .page_and_form("/console/c/{conf}/batches/{id}/deactivate", batches::confirm, batches::deactivate)
        .page_and_form("/console/c/{conf}/batches/{id}/assign", recipients::assign_form, recipients::assign)
        .page_and_form("/console/c/{conf}/batches/{id}/send", recipients::send_form, recipients::send)
        .form("/console/c/{conf}/batches/{id}/outbox/{msg}/retry", recipients::retry)
        .page_and_form("/console/c/{conf}/tokens", tokens::list, tokens::create)
        .form("/console/c/{conf}/tokens/{id}/revoke", tokens::revoke)
        .page_and_form("/console/c/{conf}/webhooks", webhooks::list, webhooks::create)
        .form("/console/c/{conf}/webhooks/{id}/disable", webhooks::disable)
        .form("/console/c/{conf}/webhooks/{id}/enable", webhooks::enable)
        .form("/console/c/{conf}/webhooks/{id}/rotate", webhooks::rotate)
        .form("/console/c/{conf}/webhooks/deliveries/{id}/redeliver", webhooks::redeliver)
        .page("/console/c/{conf}/try", try_code::show)
        .page("/console/c/{conf}/outbox", outbox::list)
        .page("/console/c/{conf}/reports", reports::show)
        .page("/console/c/{conf}/redemptions", reports::list)
        .page("/console/c/{conf}/redemptions.csv", reports::download)
        .page("/console/c/{conf}/allotments", allotments::list)
        .page_and_form("/console/c/{conf}/allotments/new", allotments::new_form, allotments::create)
        .page("/console/c/{conf}/allotments/{id}", allotments::show)
        .form("/console/c/{conf}/allotments/{id}/extend", allotments::extend)
        .form("/console/c/{conf}/allotments/{id}/resize", allotments::resize)
        .form("/console/c/{conf}/allotments/{id}/new-link", allotments::new_link)
        .form("/console/c/{conf}/allotments/{id}/revoke-link", allotments::revoke_link)
        .page("/sponsor", sponsor::show)
        .page("/sponsor/{secret}", sponsor::open)
        .form("/sponsor/attendees", sponsor::add)
        .form("/sponsor/attendees/paste", sponsor::paste)
        .page_and_form("/sponsor/attendees/{id}/change", sponsor::change_form, sponsor::change)
        .form("/sponsor/attendees/{id}/remove", sponsor::remove)
        .form("/sponsor/leave", sponsor::leave)
}
