//! How guessable a batch is: the chance that one guess hits a code, and how long an attacker
//! needs, on average, to find one at the token-wide failed-lookup ceiling (what an attacker with
//! any number of addresses meets; one address meets the lower per-address limit).
//!
//! A guesser knows the format (a code is public once one person has it): prefix, alphabet,
//! length, check character. Each guess is `prefix + random symbols (+ the check they compute)`,
//! and it hits when it is one of the `N` active codes sharing that prefix and format. With `S`
//! possible codes (symbols ^ length), one guess hits with chance `N / S`, and a caller needs
//! `S / N` guesses on average. At `F` failed lookups per minute, that is `S / (N·F)` minutes.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::CodeFormat;

/// What a deployment accepts: the failed-lookup limits the API enforces, and the shortest expected
/// time to guess a code a new batch may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuessingPolicy {
    /// Failed lookups a caller (a token and a client address) may make per minute
    /// (`VOUCHERS_FAILED_LOOKUPS_PER_MINUTE`; 0: no limit, and then no expected time can be
    /// promised).
    pub failed_lookups_per_minute: u32,
    /// Failed lookups one token may make per minute from all its addresses together
    /// (`VOUCHERS_TOKEN_FAILED_LOOKUPS_PER_MINUTE`; 0: no ceiling, and then nothing can be promised
    /// against an attacker with many addresses). The figure is computed at this rate.
    pub token_failed_lookups_per_minute: u32,
    /// A batch whose expected time is shorter is refused unless weak codes are allowed
    /// (`VOUCHERS_GUESSING_FLOOR_DAYS`, default 365 days).
    pub floor: Duration,
}

impl GuessingPolicy {
    /// One year.
    pub const DEFAULT_FLOOR: Duration = Duration::from_secs(365 * 24 * 3600);

    /// The failed lookups a minute an attacker with many addresses can make against one token:
    /// the token-wide ceiling (0: none, unbounded).
    pub fn attacker_rate(&self) -> u32 {
        self.token_failed_lookups_per_minute
    }
}

impl Default for GuessingPolicy {
    fn default() -> Self {
        Self { failed_lookups_per_minute: 10, token_failed_lookups_per_minute: 100, floor: Self::DEFAULT_FLOOR }
    }
}

/// The guessing figure of a group of codes sharing a prefix and a format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Guessing {
    /// Active codes of the conference with this prefix and format (the batch's included).
    pub active_codes: i64,
    /// Possible codes of the format: symbols ^ length.
    pub possible_codes: f64,
    /// The chance that one guess hits one of the active codes.
    pub chance_per_guess: f64,
    /// The failed lookups a minute the figure assumes: the token-wide ceiling (0: none).
    pub failed_lookups_per_minute: u32,
    /// Expected seconds for an attacker at that rate to find a code (`null` without a limit).
    pub expected_seconds: Option<f64>,
    /// The same in words: `about 1,070 years`.
    pub expected: String,
    /// Under the deployment's floor.
    pub weak: bool,
    /// The figure in plain words: the sentence the CLI's note and the console's batch page show.
    #[serde(default)]
    pub text: String,
}

impl Guessing {
    /// The figure for `active_codes` codes of `format` under `policy`.
    pub fn of(format: &CodeFormat, active_codes: i64, policy: &GuessingPolicy) -> Self {
        let possible = format.space();
        let n = active_codes.max(0) as f64;
        let chance = if possible > 0.0 { (n / possible).min(1.0) } else { 1.0 };
        let per_minute = policy.attacker_rate();
        let expected_seconds =
            (per_minute > 0).then(
                || {
                    if n == 0.0 {
                        f64::INFINITY
                    } else {
                        possible / n / f64::from(per_minute) * 60.0
                    }
                },
            );
        let expected = match expected_seconds {
            None => "not bounded: no token-wide failed-lookup ceiling is set".to_owned(),
            Some(_) if n == 0.0 => "never: no active code to find".to_owned(),
            Some(s) => format!("about {}", in_words(s)),
        };
        let weak = expected_seconds.is_some_and(|s| s < policy.floor.as_secs_f64());
        let mut figure = Self {
            active_codes,
            possible_codes: possible,
            chance_per_guess: chance,
            failed_lookups_per_minute: per_minute,
            expected_seconds: expected_seconds.filter(|s| s.is_finite()),
            expected,
            weak,
            text: String::new(),
        };
        figure.text = figure.sentence();
        figure
    }

    /// The figure in plain words, as the CLI's note and the console's batch page say it: `one
    /// guesser would need about 107 years to find one of the 500 active codes, at the limit of
    /// 100 failed lookups a minute (from any number of addresses)`.
    pub fn sentence(&self) -> String {
        let codes = if self.active_codes == 1 {
            "the one active code".to_owned()
        } else {
            format!("one of the {} active codes", group(self.active_codes.max(0).unsigned_abs()))
        };
        match self.failed_lookups_per_minute {
            0 => {
                let odds = if self.chance_per_guess > 0.0 {
                    format!("1 in {}", group((1.0 / self.chance_per_guess).round().min(9e18) as u64))
                } else {
                    "none".to_owned()
                };
                format!(
                    "no limit on failed lookups is set, so nothing bounds how fast a guesser finds {codes}; \
                     each guess has a chance of {odds}"
                )
            }
            n => format!(
                "one guesser would need {} to find {codes}, at the limit of {n} failed lookups a minute (from any \
                 number of addresses)",
                self.expected
            ),
        }
    }

    /// What would make `count` new codes (of `active_codes` in all) of `format` safe under
    /// `policy`: the shortest safe length, and the most codes the format allows.
    pub fn advice(format: &CodeFormat, active_codes: i64, count: i64, policy: &GuessingPolicy) -> String {
        let safe = |f: &CodeFormat, n: i64| !Guessing::of(f, n, policy).weak;
        let longer = (format.length..=CodeFormat::MAX_LENGTH)
            .map(|length| CodeFormat { length, ..*format })
            .find(|f| safe(f, active_codes));
        let others = active_codes - count;
        // The most codes at this length: S / (F·floor in minutes), less the codes already there.
        let floor_minutes = policy.floor.as_secs_f64() / 60.0;
        let most = (format.space() / (f64::from(policy.attacker_rate()) * floor_minutes)).floor();
        let most = if most >= i64::MAX as f64 { i64::MAX } else { most as i64 } - others;
        let mut ways = Vec::new();
        if let Some(f) = longer {
            ways.push(format!("longer codes (length {} or more)", f.length));
        }
        if most >= 1 {
            ways.push(format!("a smaller batch (at most {most} codes)"));
        }
        ways.push("allow weak codes (allow_weak_codes, --allow-weak-codes)".to_owned());
        ways.join(", or ")
    }
}

/// A duration in seconds, in the largest unit that reads well: `45 seconds`, `3.2 hours`,
/// `1,070 years`.
pub fn in_words(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "forever".to_owned();
    }
    const UNITS: [(f64, &str); 5] =
        [(365.0 * 86_400.0, "years"), (86_400.0, "days"), (3_600.0, "hours"), (60.0, "minutes"), (1.0, "seconds")];
    let (size, unit) = UNITS.iter().copied().find(|(size, _)| seconds >= *size).unwrap_or((1.0, "seconds"));
    let value = seconds / size;
    if value >= 1e15 {
        return format!("{value:.1e} {unit}");
    }
    if value < 10.0 {
        return format!("{value:.1} {unit}");
    }
    format!("{} {unit}", group(value.round() as u64))
}

/// A whole number with thousands separated: `26,000`.
fn group(whole: u64) -> String {
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(d);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Alphabet;

    #[test]
    fn the_alnum_format_at_the_default_ceiling() {
        // 36^8 / 500 guesses at 100 a minute (the token-wide ceiling): about 107 years.
        let figure = Guessing::of(&CodeFormat::default(), 500, &GuessingPolicy::default());
        assert_eq!(figure.possible_codes, 36f64.powi(8));
        assert!((figure.chance_per_guess - 500.0 / 36f64.powi(8)).abs() < 1e-20);
        let years = figure.expected_seconds.unwrap() / (365.0 * 86_400.0);
        assert!((107.0..108.0).contains(&years), "{years}");
        assert_eq!(figure.expected, "about 107 years");
        assert_eq!(figure.failed_lookups_per_minute, 100);
        assert!(!figure.weak);
        // Without a token-wide ceiling, many addresses are unbounded: nothing is promised.
        let open = GuessingPolicy { token_failed_lookups_per_minute: 0, ..GuessingPolicy::default() };
        assert_eq!(Guessing::of(&CodeFormat::default(), 500, &open).expected_seconds, None);
    }

    #[test]
    fn short_readable_codes_are_weak_and_the_advice_says_what_helps() {
        let format = CodeFormat { alphabet: Alphabet::Readable, length: 6, check_char: true };
        let policy = GuessingPolicy::default();
        // 32^6 / 500 / 100 minutes: about 15 days.
        let figure = Guessing::of(&format, 500, &policy);
        assert!(figure.weak);
        assert_eq!(figure.expected, "about 15 days");
        let advice = Guessing::advice(&format, 500, 500, &policy);
        // 32^7 / 500 / 100 min = 1.3 years; at most 32^6 / (100 · 525,600) = 20 codes.
        assert_eq!(
            advice,
            "longer codes (length 7 or more), or a smaller batch (at most 20 codes), or allow weak codes \
             (allow_weak_codes, --allow-weak-codes)"
        );
        assert!(!Guessing::of(&format, 20, &policy).weak);
        assert!(Guessing::of(&format, 21, &policy).weak);
    }

    #[test]
    fn without_a_limit_nothing_is_promised_or_refused() {
        let policy = GuessingPolicy {
            failed_lookups_per_minute: 0,
            token_failed_lookups_per_minute: 0,
            ..GuessingPolicy::default()
        };
        let figure = Guessing::of(&CodeFormat::default(), 1_000_000, &policy);
        assert_eq!(figure.expected_seconds, None);
        assert!(!figure.weak);
        assert_eq!(
            figure.sentence(),
            "no limit on failed lookups is set, so nothing bounds how fast a guesser finds one of the 1,000,000 \
             active codes; each guess has a chance of 1 in 2,821,110"
        );
    }

    #[test]
    fn the_figure_in_a_sentence() {
        let figure = Guessing::of(&CodeFormat::default(), 500, &GuessingPolicy::default());
        assert_eq!(
            figure.sentence(),
            "one guesser would need about 107 years to find one of the 500 active codes, at the limit of 100 failed \
             lookups a minute (from any number of addresses)"
        );
    }

    #[test]
    fn durations_in_words() {
        assert_eq!(in_words(45.0), "45 seconds");
        assert_eq!(in_words(5_400.0), "1.5 hours");
        assert_eq!(in_words(3.0 * 86_400.0), "3.0 days");
        assert_eq!(in_words(1_234_567.0 * 365.0 * 86_400.0), "1,234,567 years");
        assert_eq!(in_words(f64::INFINITY), "forever");
    }
}
