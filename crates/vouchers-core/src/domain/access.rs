//! Who may do what: the one authorization policy, for API tokens and console accounts alike.
//!
//! A caller has a grant (an API token's scope, a console account's role) and a reach (the
//! conferences it may see). [`Access::admit`] decides a request: an action its grant does not
//! allow is [`Denied::Forbidden`] whatever the conference; a conference out of its reach is
//! [`Denied::NotFound`], the same answer as a conference that does not exist, so a caller cannot
//! probe for the slugs of others.

use super::{Account, ApiToken, Conference, Role, Scope};

/// What a request asks to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Create conferences, see every admin token: admins only.
    Administer,
    /// Manage a conference: its catalogue, vouchers, batches, recipients, email, export, usage,
    /// audit log and tokens.
    Manage,
    /// Check a code at checkout (and price a cart).
    Check,
    /// Redeem a code for an order.
    Redeem,
    /// Release an order's use of a code.
    Release,
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// The caller's grant does not allow this action anywhere.
    Forbidden,
    /// The conference is out of the caller's reach (or does not exist).
    NotFound,
}

/// The conferences a caller reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reach {
    /// Every conference (admins).
    Every,
    /// One conference, by id (an API token bound to it).
    Id(i64),
    /// The conferences with these slugs (a `manage` account's grants).
    Slugs(Vec<String>),
}

/// A caller's grant and reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    grant: Scope,
    reach: Reach,
}

impl Access {
    /// What an API token may do: its scope, in its conference (every conference for admin).
    pub fn of_token(token: &ApiToken) -> Self {
        let reach = match (token.scope, token.conference_id) {
            (Scope::Admin, _) => Reach::Every,
            (_, Some(id)) => Reach::Id(id),
            // The store never makes one; it would reach nothing.
            (_, None) => Reach::Slugs(Vec::new()),
        };
        Self { grant: token.scope, reach }
    }

    /// What a console account may do: an admin everything everywhere, a `manage` account what a
    /// manage token may do, in the conferences it is granted.
    pub fn of_account(account: &Account) -> Self {
        match account.role {
            Role::Admin => Self { grant: Scope::Admin, reach: Reach::Every },
            Role::Manage => Self { grant: Scope::Manage, reach: Reach::Slugs(account.conferences.clone()) },
        }
    }

    /// Whether the grant allows `action` in the conferences it reaches: the policy's table.
    pub fn allows(&self, action: Action) -> bool {
        match self.grant {
            Scope::Admin => true,
            Scope::Manage => matches!(action, Action::Manage | Action::Check | Action::Release),
            Scope::Checkout => matches!(action, Action::Check | Action::Redeem | Action::Release),
        }
    }

    /// Whether the conference with this slug may be in reach (for a slug known before the
    /// conference is read: a `manage` account's grants are slugs). A token bound by id answers
    /// true; [`Access::reaches`] decides once the conference is read.
    pub fn may_reach(&self, slug: &str) -> bool {
        match &self.reach {
            Reach::Every | Reach::Id(_) => true,
            Reach::Slugs(slugs) => slugs.iter().any(|s| s == slug),
        }
    }

    /// Whether the caller reaches `conference`.
    pub fn reaches(&self, conference: &Conference) -> bool {
        match &self.reach {
            Reach::Every => true,
            Reach::Id(id) => *id == conference.id,
            Reach::Slugs(slugs) => slugs.contains(&conference.slug),
        }
    }

    /// Decides a request for `action` in `conference` (`None` when no conference has the slug).
    pub fn admit(&self, action: Action, conference: Option<Conference>) -> Result<Conference, Denied> {
        if !self.allows(action) {
            return Err(Denied::Forbidden);
        }
        match conference {
            Some(conference) if self.reaches(&conference) => Ok(conference),
            _ => Err(Denied::NotFound),
        }
    }

    /// Decides an action that concerns no one conference ([`Action::Administer`]).
    pub fn require(&self, action: Action) -> Result<(), Denied> {
        if self.allows(action) {
            Ok(())
        } else {
            Err(Denied::Forbidden)
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn conference(id: i64, slug: &str) -> Conference {
        let day = chrono::NaiveDate::from_ymd_opt(2027, 5, 14).unwrap();
        Conference {
            id,
            slug: slug.to_owned(),
            name: slug.to_owned(),
            start_date: day,
            end_date: day,
            timezone: chrono_tz::UTC,
            created_at: Utc::now(),
            hold_seconds: 1800,
        }
    }

    fn token(scope: Scope, conference_id: Option<i64>) -> ApiToken {
        ApiToken {
            id: 1,
            scope,
            conference_id,
            conference: conference_id.map(|_| "pycon".to_owned()),
            name: None,
            created_at: Utc::now(),
            revoked_at: None,
        }
    }

    fn account(role: Role, conferences: &[&str]) -> Account {
        Account {
            id: 1,
            email: "ana@example.org".to_owned(),
            role,
            conferences: conferences.iter().map(|c| (*c).to_owned()).collect(),
            created_at: Utc::now(),
            disabled_at: None,
            has_password: true,
        }
    }

    const ACTIONS: [Action; 5] = [Action::Administer, Action::Manage, Action::Check, Action::Redeem, Action::Release];

    /// The table, action by action, and the same answers for a token and an account of the
    /// same grant.
    #[test]
    fn one_table_for_tokens_and_accounts() {
        let (pycon, other) = (conference(1, "pycon"), conference(2, "other"));
        let callers = [
            ("admin token", Access::of_token(&token(Scope::Admin, None)), [true, true, true, true, true]),
            ("admin account", Access::of_account(&account(Role::Admin, &[])), [true, true, true, true, true]),
            ("manage token", Access::of_token(&token(Scope::Manage, Some(1))), [false, true, true, false, true]),
            (
                "manage account",
                Access::of_account(&account(Role::Manage, &["pycon"])),
                [false, true, true, false, true],
            ),
            ("checkout token", Access::of_token(&token(Scope::Checkout, Some(1))), [false, false, true, true, true]),
        ];
        for (who, access, allowed) in callers {
            let admin = access.allows(Action::Administer);
            for (action, allowed) in ACTIONS.into_iter().zip(allowed) {
                assert_eq!(access.allows(action), allowed, "{who} {action:?}");
                if action == Action::Administer {
                    continue;
                }
                let expected = if allowed { Ok(pycon.clone()) } else { Err(Denied::Forbidden) };
                assert_eq!(access.admit(action, Some(pycon.clone())), expected, "{who} {action:?} in its conference");
                let elsewhere = if !allowed {
                    Err(Denied::Forbidden)
                } else if admin {
                    Ok(other.clone())
                } else {
                    Err(Denied::NotFound)
                };
                assert_eq!(access.admit(action, Some(other.clone())), elsewhere, "{who} {action:?} elsewhere");
                let missing = if allowed { Err(Denied::NotFound) } else { Err(Denied::Forbidden) };
                assert_eq!(access.admit(action, None), missing, "{who} {action:?} of a missing conference");
            }
        }
    }

    #[test]
    fn a_manage_account_reaches_its_slugs_only() {
        let access = Access::of_account(&account(Role::Manage, &["pycon", "djangocon"]));
        assert!(access.may_reach("pycon") && access.may_reach("djangocon") && !access.may_reach("other"));
        assert!(Access::of_token(&token(Scope::Manage, Some(7))).may_reach("anything"));
    }
}
