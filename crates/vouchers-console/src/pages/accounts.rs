//! Accounts and their grants, for admin accounts only (a manage account gets the "Only an admin
//! account may do this" page): the list with a New account form, and a page per account with
//! its actions: grant a conference, revoke one (after a confirmation page), a new one-time
//! set-password link, disable (after a confirmation page).
//!
//! A new account gets no typed password: its one-time set-password link is shown once, on the
//! page that answers the form (never in a redirect, a flash or a log), with `Cache-Control:
//! no-store`; its owner opens the link (`/console/set-password/SECRET`, [`set_password_form`]),
//! chooses a password and signs in. Every other action ends with a flash message.
//!
//! Accounts are made only by admins, so the list is short (staff, not customers): the page shows
//! every account and every conference, as the CLI's `user list` does.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use vouchers_core::domain::{Account, AccountStatus, Conference, Email, Password, PasswordLinkSecret, Role};
use vouchers_core::service::accounts::{self, NewPasswordLink, PasswordLink};
use vouchers_core::service::catalog;
use vouchers_core::service::sign_in::Guarded;
use vouchers_core::VoucherError;

use super::id_of;
use crate::error::ConsoleError;
use crate::form::FormData;
use crate::session::{ClientAddress, LinkForm, Posted, Signed};
use crate::view::{field_error, local, page, Nav};
use crate::ConsoleState;

/// An instant as these pages show it: accounts belong to no conference, so in UTC, named.
fn utc(t: &DateTime<Utc>) -> String {
    format!("{} UTC", local(t, chrono_tz::UTC))
}

/// `message` naming its field by the label the person sees: `email must be ...` becomes
/// `Email must be ...`; a message that does not start with the field gets the label in front.
fn labelled(label: &str, field: &str, message: &str) -> String {
    match message.strip_prefix(field) {
        Some(rest) if rest.starts_with(" must ") => format!("{label}{rest}"),
        _ => format!("{label}: {message}"),
    }
}

/// The label of a field of the New account form.
fn label_of(field: &str) -> &'static str {
    match field {
        "role" => "Role",
        "conference" => "Conferences",
        _ => "Email",
    }
}

/// A use case's refusal of a form, as `(field, message)` next to the field; `None` for an error
/// that is no input error (it becomes an error page).
fn form_error(error: &VoucherError) -> Option<(String, String)> {
    match error {
        VoucherError::Duplicate { field: "email", value, .. } => {
            Some(("email".to_owned(), format!("Email {value} already has an account")))
        }
        e if e.is_input_error() => {
            let field = e.field().unwrap_or("email");
            let field = if label_of(field) == "Email" { "email" } else { field };
            Some((field.to_owned(), labelled(label_of(field), field, &e.to_string())))
        }
        _ => None,
    }
}

/// An account as the list and its page show it.
pub(crate) struct Row {
    pub id: i64,
    pub email: String,
    pub role: &'static str,
    /// The conferences' names, or "every conference" for an admin account.
    pub conferences: String,
    pub created: String,
    pub status: &'static str,
    pub status_class: &'static str,
}

impl Row {
    fn new(account: &Account, names: &[Conference]) -> Self {
        let status = AccountStatus::of(account);
        Self {
            id: account.id,
            email: account.email.clone(),
            role: account.role.as_str(),
            conferences: match account.role {
                Role::Admin => "every conference".to_owned(),
                Role::Manage if account.conferences.is_empty() => "none".to_owned(),
                Role::Manage => {
                    account.conferences.iter().map(|slug| name_of(names, slug)).collect::<Vec<_>>().join(", ")
                }
            },
            created: utc(&account.created_at),
            status: status.label(),
            status_class: match status {
                AccountStatus::Active => "status-active",
                AccountStatus::Disabled => "status-disabled",
                AccountStatus::WaitingForPassword => "status-waiting",
            },
        }
    }
}

/// A conference's name by its slug (the slug itself if it has none).
fn name_of(conferences: &[Conference], slug: &str) -> String {
    conferences.iter().find(|c| c.slug == slug).map_or_else(|| slug.to_owned(), |c| c.name.clone())
}

/// A conference as a checkbox or an option shows it.
pub(crate) struct Choice {
    pub slug: String,
    pub name: String,
    pub checked: bool,
}

/// A set-password link shown once.
pub(crate) struct LinkView {
    pub email: String,
    pub link: String,
    pub expires: String,
}

impl LinkView {
    fn new(state: &ConsoleState, made: &NewPasswordLink) -> Self {
        Self {
            email: made.account.email.clone(),
            link: made.secret.link(state.public_url.as_deref()),
            expires: utc(&made.expires_at),
        }
    }
}

/// A page that shows a secret: never stored by the browser or a proxy.
fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[derive(Template)]
#[template(path = "accounts.html")]
struct ListPage {
    nav: Option<Nav>,
    rows: Vec<Row>,
    conferences: Vec<Choice>,
    values: FormData,
    errors: Vec<(String, String)>,
}

impl ListPage {
    fn error(&self, field: &str) -> Option<&str> {
        field_error(&self.errors, field)
    }

    fn value(&self, field: &str) -> String {
        self.values.text(field)
    }

    fn role_is(&self, role: &str) -> bool {
        self.values.get("role").unwrap_or("manage") == role
    }
}

async fn render_list(
    state: &ConsoleState,
    signed: &Signed,
    values: FormData,
    errors: Vec<(String, String)>,
) -> Result<Response, ConsoleError> {
    let store = state.store.as_ref();
    let all = catalog::list_conferences(store).await?;
    let rows = accounts::list_accounts(store).await?.iter().map(|a| Row::new(a, &all)).collect();
    let ticked = values.all("conference");
    let conferences =
        all.into_iter().map(|c| Choice { checked: ticked.contains(&c.slug), slug: c.slug, name: c.name }).collect();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    page(status, &ListPage { nav: Some(Nav::new(signed, None)), rows, conferences, values, errors })
}

/// Every account, and the New account form.
pub(crate) async fn list(State(state): State<ConsoleState>, signed: Signed) -> Result<Response, ConsoleError> {
    signed.require_admin()?;
    render_list(&state, &signed, FormData::default(), Vec::new()).await
}

/// Creates an account without a password and answers with its page, which shows its one-time
/// set-password link once.
pub(crate) async fn create(
    State(state): State<ConsoleState>,
    Posted { signed, form }: Posted,
) -> Result<Response, ConsoleError> {
    signed.require_admin()?;
    let mut errors = Vec::new();
    let email = Email::parse("email", &form.text("email"))
        .map_err(|e| errors.push(("email".to_owned(), labelled("Email", "email", &e.message))));
    let role = form
        .text("role")
        .parse::<Role>()
        .map_err(|_| errors.push(("role".to_owned(), "Role must be admin or manage".to_owned())));
    let (Ok(email), Ok(role)) = (email, role) else {
        return render_list(&state, &signed, form, errors).await;
    };
    let conferences = form.all("conference");
    match accounts::create_account_with_link(signed.store(&state).as_ref(), &email, role, &conferences).await {
        Ok(made) => {
            tracing::info!(account = %signed.session.account.email, created = %made.account.email, "account created");
            let said = format!("Account {} created.", made.account.email);
            let link = LinkView::new(&state, &made);
            let shown = Shown { notice: Some(said), link: Some(link), error: None };
            render_account(&state, &signed, &made.account, shown).await.map(no_store)
        }
        Err(e) => match form_error(&e) {
            Some(error) => render_list(&state, &signed, form, vec![error]).await,
            None => Err(e.into()),
        },
    }
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    nav: Option<Nav>,
    a: Row,
    manage: bool,
    disabled: bool,
    /// The page is the signed-in account's own: it may not disable itself.
    own: bool,
    granted: Vec<Choice>,
    grantable: Vec<Choice>,
    notice: Option<String>,
    link: Option<LinkView>,
    error: Option<String>,
}

/// What an answer page shows once: what happened, a new link, or why nothing happened.
#[derive(Default)]
struct Shown {
    notice: Option<String>,
    link: Option<LinkView>,
    error: Option<String>,
}

async fn render_account(
    state: &ConsoleState,
    signed: &Signed,
    account: &Account,
    shown: Shown,
) -> Result<Response, ConsoleError> {
    let all = catalog::list_conferences(state.store.as_ref()).await?;
    let (granted, grantable): (Vec<Conference>, Vec<Conference>) =
        all.iter().cloned().partition(|c| account.conferences.contains(&c.slug));
    let choice = |c: Conference| Choice { slug: c.slug, name: c.name, checked: false };
    let status = if shown.error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let view = AccountPage {
        nav: Some(Nav::new(signed, None)),
        a: Row::new(account, &all),
        manage: account.role == Role::Manage,
        disabled: account.disabled_at.is_some(),
        own: account.id == signed.session.account.id,
        granted: granted.into_iter().map(choice).collect(),
        grantable: grantable.into_iter().map(choice).collect(),
        notice: shown.notice,
        link: shown.link,
        error: shown.error,
    };
    page(status, &view)
}

/// The account of a path's id (admins only); another id is the console's 404.
async fn find(state: &ConsoleState, signed: &Signed, id: &str) -> Result<Account, ConsoleError> {
    signed.require_admin()?;
    accounts::account(state.store.as_ref(), id_of(id)?).await?.ok_or(ConsoleError::NotFound)
}

/// The account's email, as the use cases take it.
fn email_of(account: &Account) -> Result<Email, ConsoleError> {
    Email::parse("email", &account.email).map_err(|e| ConsoleError::Voucher(e.into()))
}

fn account_url(account: &Account) -> String {
    format!("/console/accounts/{}", account.id)
}

/// One account: its conferences and actions.
pub(crate) async fn show(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let account = find(&state, &signed, &id).await?;
    render_account(&state, &signed, &account, Shown::default()).await
}

/// Lets a manage account see one more conference (the form's `conference`).
pub(crate) async fn grant(
    State(state): State<ConsoleState>,
    Path(id): Path<String>,
    Posted { signed, form }: Posted,
) -> Result<Response, ConsoleError> {
    let account = find(&state, &signed, &id).await?;
    let slug = form.text("conference");
    match accounts::grant_conference(signed.store(&state).as_ref(), &email_of(&account)?, &slug).await {
        Ok(after) => {
            let name = catalog::conference(state.store.as_ref(), &slug).await?.name;
            let said = format!("{} may now manage {name}", after.email);
            Ok(crate::flash::redirect(&state, &account_url(&after), &said))
        }
        Err(e) if e.is_input_error() => {
            let shown = Shown { error: Some(labelled("Conference", "conference", &e.to_string())), ..Shown::default() };
            render_account(&state, &signed, &account, shown).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "account_confirm.html")]
struct ConfirmPage {
    nav: Option<Nav>,
    title: String,
    what: String,
    action: String,
    button: &'static str,
    back: String,
    keep: &'static str,
}

/// The conference of a revoke's path, among those the account has; another is the 404.
async fn granted(state: &ConsoleState, account: &Account, conf: &str) -> Result<Conference, ConsoleError> {
    if !account.conferences.iter().any(|c| c == conf) {
        return Err(ConsoleError::NotFound);
    }
    Ok(catalog::conference(state.store.as_ref(), conf).await?)
}

/// "Revoke access to ...?": what revoking does, and the button that does it.
pub(crate) async fn confirm_revoke(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path((id, conf)): Path<(String, String)>,
) -> Result<Response, ConsoleError> {
    let account = find(&state, &signed, &id).await?;
    let conference = granted(&state, &account, &conf).await?;
    let view = ConfirmPage {
        nav: Some(Nav::new(&signed, None)),
        title: format!("Revoke access to {}?", conference.name),
        what: format!(
            "{} will no longer see {}: its pages answer 404 to them at once, in the sessions they have open too. \
             Nothing of the conference changes; you can grant it again.",
            account.email, conference.name
        ),
        action: format!("/console/accounts/{}/revoke/{}", account.id, conference.slug),
        button: "Revoke access",
        back: account_url(&account),
        keep: "Keep the access",
    };
    page(StatusCode::OK, &view)
}

/// Takes a conference away from a manage account.
pub(crate) async fn revoke(
    State(state): State<ConsoleState>,
    Path((id, conf)): Path<(String, String)>,
    Posted { signed, .. }: Posted,
) -> Result<Response, ConsoleError> {
    let account = find(&state, &signed, &id).await?;
    let conference = match catalog::conference(state.store.as_ref(), &conf).await {
        Ok(conference) => conference,
        Err(VoucherError::ConferenceNotFound(_)) => return Err(ConsoleError::NotFound),
        Err(e) => return Err(e.into()),
    };
    let store = signed.store(&state);
    let (after, revoked) = accounts::revoke_conference(store.as_ref(), &email_of(&account)?, &conference.slug).await?;
    let said = if revoked {
        tracing::info!(account = %signed.session.account.email, revoked = %after.email, conference = %conference.slug, "access revoked");
        format!("Access to {} revoked", conference.name)
    } else {
        format!("{} had no access to {}; nothing changed", after.email, conference.name)
    };
    Ok(crate::flash::redirect(&state, &account_url(&after), &said))
}

/// A new one-time set-password link (the earlier one stops), shown once.
pub(crate) async fn new_link(
    State(state): State<ConsoleState>,
    Path(id): Path<String>,
    Posted { signed, .. }: Posted,
) -> Result<Response, ConsoleError> {
    let account = find(&state, &signed, &id).await?;
    match accounts::new_password_link(signed.store(&state).as_ref(), &email_of(&account)?).await {
        Ok(made) => {
            let said = format!("New set-password link for {}; any earlier link stopped.", made.account.email);
            let shown = Shown { notice: Some(said), link: Some(LinkView::new(&state, &made)), error: None };
            render_account(&state, &signed, &made.account, shown).await.map(no_store)
        }
        Err(e) if e.is_input_error() => {
            let shown = Shown { error: Some(e.to_string()), ..Shown::default() };
            render_account(&state, &signed, &account, shown).await
        }
        Err(e) => Err(e.into()),
    }
}

/// "Disable ...?": what disabling does, and the button that does it.
pub(crate) async fn confirm_disable(
    State(state): State<ConsoleState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let account = find(&state, &signed, &id).await?;
    let view = ConfirmPage {
        nav: Some(Nav::new(&signed, None)),
        title: format!("Disable {}?", account.email),
        what: format!(
            "{} will not be able to sign in, its open sessions end at once, and its set-password link stops. \
             Its audit records stay, and it can be enabled again later.",
            account.email
        ),
        action: format!("/console/accounts/{}/disable", account.id),
        button: "Disable account",
        back: account_url(&account),
        keep: "Keep it enabled",
    };
    page(StatusCode::OK, &view)
}

/// Disables the account (never the signed-in one).
pub(crate) async fn disable(
    State(state): State<ConsoleState>,
    Path(id): Path<String>,
    Posted { signed, .. }: Posted,
) -> Result<Response, ConsoleError> {
    let account = find(&state, &signed, &id).await?;
    let store = signed.store(&state);
    match accounts::disable_account_by(store.as_ref(), &signed.session.account, &email_of(&account)?).await {
        Ok(after) => {
            tracing::info!(account = %signed.session.account.email, disabled = %after.email, "account disabled");
            let said = format!("Account {} disabled; its sessions ended", after.email);
            Ok(crate::flash::redirect(&state, &account_url(&after), &said))
        }
        Err(e) if e.is_input_error() => {
            let shown = Shown { error: Some(labelled("Account", "email", &e.to_string())), ..Shown::default() };
            render_account(&state, &signed, &account, shown).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Enables a disabled account again (nothing to confirm: it takes nothing away).
pub(crate) async fn enable(
    State(state): State<ConsoleState>,
    Path(id): Path<String>,
    Posted { signed, .. }: Posted,
) -> Result<Response, ConsoleError> {
    let account = find(&state, &signed, &id).await?;
    let after = accounts::enable_account(signed.store(&state).as_ref(), &email_of(&account)?).await?;
    tracing::info!(account = %signed.session.account.email, enabled = %after.email, "account enabled");
    let said = format!("Account {} enabled; it can sign in again", after.email);
    Ok(crate::flash::redirect(&state, &account_url(&after), &said))
}

// ---------------------------------------------------------------------------------------------
// The public page a set-password link opens.

#[derive(Template)]
#[template(path = "set_password.html")]
struct SetPasswordPage {
    nav: Option<Nav>,
    email: String,
    expires: String,
    action: String,
    errors: Vec<(String, String)>,
}

impl SetPasswordPage {
    fn error(&self, field: &str) -> Option<&str> {
        field_error(&self.errors, field)
    }
}

/// The link behind `/console/set-password/SECRET`, under the sign-in limit of the address: an
/// unknown, used or expired link is the console's 404 and counts one failure; past the limit,
/// 429 with `Retry-After`, the link not even read.
async fn open(
    state: &ConsoleState,
    address: std::net::IpAddr,
    secret: &PasswordLinkSecret,
) -> Result<PasswordLink, ConsoleError> {
    let now = vouchers_core::now();
    match accounts::open_password_link(state.store.as_ref(), &state.sign_ins, secret, address, now).await? {
        Guarded::Found(link) => Ok(link),
        Guarded::NotFound => Err(ConsoleError::NotFound),
        Guarded::TooMany(refused) => Err(ConsoleError::TooMany(refused.retry_after.as_secs().max(1))),
    }
}

fn render_set_password(
    secret: &PasswordLinkSecret,
    link: &PasswordLink,
    errors: Vec<(String, String)>,
) -> Result<Response, ConsoleError> {
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let view = SetPasswordPage {
        nav: None,
        email: link.account.email.clone(),
        expires: utc(&link.expires_at),
        // The form posts back to the address it came from (no secret anywhere else in the page).
        action: secret.path(),
        errors,
    };
    page(status, &view).map(no_store)
}

/// `/console/set-password/SECRET`: the form that sets the account's password (no session).
pub(crate) async fn set_password_form(
    State(state): State<ConsoleState>,
    ClientAddress(address): ClientAddress,
    Path(secret): Path<String>,
) -> Result<Response, ConsoleError> {
    let secret = PasswordLinkSecret::new(secret);
    let link = open(&state, address, &secret).await?;
    render_set_password(&secret, &link, Vec::new())
}

/// Sets the password through the link (once) and sends the browser to sign in; a password
/// that breaks a rule, or a repeat that differs, shows the form again (422), the link unused.
pub(crate) async fn set_password(
    State(state): State<ConsoleState>,
    ClientAddress(address): ClientAddress,
    Path(secret): Path<String>,
    LinkForm(form): LinkForm,
) -> Result<Response, ConsoleError> {
    let secret = PasswordLinkSecret::new(secret);
    let link = open(&state, address, &secret).await?;
    // Exactly as typed: a space at either end is part of a password.
    let (typed, repeat) = (form.secret("password"), form.secret("repeat"));
    let password = match Password::new(typed) {
        Ok(password) if typed == repeat => password,
        Ok(_) => {
            let error = ("repeat".to_owned(), "Repeat it must be the same as New password".to_owned());
            return render_set_password(&secret, &link, vec![error]);
        }
        Err(e) => {
            let error = ("password".to_owned(), labelled("New password", "password", &e.message));
            return render_set_password(&secret, &link, vec![error]);
        }
    };
    let now = vouchers_core::now();
    match accounts::set_password_by_link(state.store.as_ref(), &secret, &password, now).await? {
        Some(account) => {
            tracing::info!(account = %account.email, "password set through a link");
            Ok(crate::flash::redirect(&state, "/console/login", "Password set; sign in"))
        }
        // Used by another request since it was opened.
        None => Err(ConsoleError::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_label() {
        assert_eq!(labelled("Email", "email", "email must be an email address"), "Email must be an email address");
        assert_eq!(
            labelled("New password", "password", "password must be at least 12 characters, got 3"),
            "New password must be at least 12 characters, got 3"
        );
        assert_eq!(
            labelled("Conferences", "conference", "conference \"x\" does not exist"),
            "Conferences: conference \"x\" does not exist"
        );
    }
}
