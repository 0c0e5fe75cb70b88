//! How a batch's codes look, and how a typed code is matched against them: the alphabet, the
//! number of random characters, the optional check character, and the folding of readable codes.
//!
//! - `alnum` (the default): `A-Z0-9`, 36 symbols, matched ignoring case only.
//! - `readable`: Crockford's Base32 symbols `0-9 A-Z` without `I L O U`, 32 symbols. A typed
//!   code is folded before it is compared ([`fold_key`]): case, `O`->`0`, `I`/`L`->`1`, hyphens
//!   and spaces dropped.
//!
//! The check character is one more symbol of the batch's own alphabet, so a code never holds a
//! character people cannot type or a URL cannot carry. It is the check of Damm's scheme over a
//! totally anti-symmetric quasigroup `x * y = a·x + y` on a finite field (`a` neither 0 nor 1):
//! GF(32) for readable codes and GF(4) x GF(9) for alnum codes (36 = 4 x 9; a direct product of
//! totally anti-symmetric quasigroups is one too). Such a check detects every single
//! substitution and every transposition of two adjacent symbols, the check character included,
//! which Crockford's mod-37 symbol also does but only with five extra symbols (`* ~ $ = U`).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{quoted, InvalidInput, CODE_ALPHABET};

/// The symbols random characters are drawn from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Alphabet {
    /// `A-Z0-9` (36 symbols). Matched ignoring case. `seed` is accepted on input as an alias
    /// (its name before it was named after what it is).
    #[default]
    #[serde(alias = "seed")]
    Alnum,
    /// Crockford's Base32 (`0-9` and `A-Z` without `I L O U`, 32 symbols). Matched with folding.
    Readable,
}

const READABLE_SYMBOLS: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

impl Alphabet {
    /// Every alphabet, for forms and tests.
    pub const ALL: [Alphabet; 2] = [Alphabet::Alnum, Alphabet::Readable];

    /// The symbols, in the order their values count (`symbols()[v]` has value `v`).
    pub const fn symbols(self) -> &'static [u8] {
        match self {
            Alphabet::Alnum => CODE_ALPHABET,
            Alphabet::Readable => READABLE_SYMBOLS,
        }
    }

    /// How the alphabet is named in flags, JSON and the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Alphabet::Alnum => "alnum",
            Alphabet::Readable => "readable",
        }
    }

    /// Reads `alnum` (or its alias `seed`) or `readable`, ignoring case and surrounding spaces.
    pub fn parse(value: &str) -> Result<Self, InvalidInput> {
        match value.trim().to_ascii_lowercase().as_str() {
            "alnum" | "seed" => Ok(Alphabet::Alnum),
            "readable" => Ok(Alphabet::Readable),
            _ => Err(InvalidInput::new(
                "alphabet",
                format!("alphabet must be \"alnum\" or \"readable\", got {}", quoted(value)),
            )),
        }
    }

    /// The value of symbol `b` (an upper-case ASCII byte), if it is one of this alphabet's.
    fn value(self, b: u8) -> Option<u8> {
        match self {
            Alphabet::Alnum => match b {
                b'A'..=b'Z' => Some(b - b'A'),
                b'0'..=b'9' => Some(26 + b - b'0'),
                _ => None,
            },
            Alphabet::Readable => READABLE_VALUE.get(usize::from(b)).copied().flatten(),
        }
    }

    /// The text as this alphabet compares it: folded for readable codes, upper-cased for alnum
    /// codes.
    pub fn canonical(self, code: &str) -> String {
        match self {
            Alphabet::Alnum => code.to_ascii_uppercase(),
            Alphabet::Readable => fold_key(code),
        }
    }
}

impl fmt::Display for Alphabet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Crockford value of each ASCII byte, `None` outside the readable alphabet (built at compile
/// time from [`READABLE_SYMBOLS`]).
const READABLE_VALUE: [Option<u8>; 128] = {
    let mut table = [None; 128];
    let mut i = 0;
    while i < READABLE_SYMBOLS.len() {
        table[READABLE_SYMBOLS[i] as usize] = Some(i as u8);
        i += 1;
    }
    table
};

/// The key a code is compared by when folding applies: ASCII upper case, `O` as `0`, `I` and `L`
/// as `1`, hyphens and spaces dropped. Idempotent: folding a key gives the key.
pub fn fold_key(code: &str) -> String {
    code.chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect()
}

/// How a batch's codes look: alphabet, number of random characters, and whether a check
/// character follows them. Stored on the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CodeFormat {
    /// `alnum` (`A-Z0-9`) or `readable` (Crockford's Base32, matched with folding).
    pub alphabet: Alphabet,
    /// Random characters after the prefix (6 to 32).
    pub length: u8,
    /// A check character follows the random ones.
    pub check_char: bool,
}

impl Default for CodeFormat {
    fn default() -> Self {
        Self { alphabet: Alphabet::Alnum, length: Self::DEFAULT_LENGTH, check_char: false }
    }
}

impl CodeFormat {
    /// Fewest random characters.
    pub const MIN_LENGTH: u8 = 6;
    /// Most random characters.
    pub const MAX_LENGTH: u8 = 32;
    /// 8 characters, the default.
    pub const DEFAULT_LENGTH: u8 = 8;

    /// Checks the length (6 to 32).
    pub fn new(alphabet: Alphabet, length: i64, check_char: bool) -> Result<Self, InvalidInput> {
        let (min, max) = (Self::MIN_LENGTH, Self::MAX_LENGTH);
        let length = u8::try_from(length).ok().filter(|l| (min..=max).contains(l)).ok_or_else(|| {
            InvalidInput::new("length", format!("length must be between {min} and {max}, got {length}"))
        })?;
        Ok(Self { alphabet, length, check_char })
    }

    /// How many codes of this format one prefix can hold: symbols ^ length (the check
    /// character adds none).
    pub fn space(&self) -> f64 {
        (self.alphabet.symbols().len() as f64).powi(i32::from(self.length))
    }

    /// Characters after the prefix: the random ones and the check character.
    pub fn suffix_len(&self) -> usize {
        usize::from(self.length) + usize::from(self.check_char)
    }

    /// `readable, 10 characters + check`: how people read the format.
    pub fn describe(&self) -> String {
        let check = if self.check_char { " + check" } else { "" };
        format!("{}, {} characters{check}", self.alphabet, self.length)
    }

    /// A code of this format: the prefix, the random symbols (bytes of the alphabet) and, when the
    /// format has one, the check character. (A batch makes its codes with a [`CodeMaker`], which
    /// reads the prefix once.)
    pub fn code(&self, prefix: &str, random: &[u8]) -> String {
        CodeMaker::new(*self, prefix).code(random)
    }

    /// True when `typed` has the shape of a code of this format behind `prefix` (the prefix, then
    /// exactly [`Self::suffix_len`] symbols of the alphabet, compared as the alphabet compares)
    /// but its check character is wrong: a typo, decided from the format alone.
    pub fn mistyped(&self, prefix: &str, typed: &str) -> bool {
        if !self.check_char {
            return false;
        }
        let (typed, head) = (self.alphabet.canonical(typed.trim()), self.alphabet.canonical(prefix));
        let Some(rest) = typed.strip_prefix(head.as_str()) else {
            return false;
        };
        if rest.len() != self.suffix_len() {
            return false;
        }
        let Some(values) = rest.bytes().map(|b| self.alphabet.value(b)).collect::<Option<Vec<u8>>>() else {
            return false;
        };
        let (random, check) = values.split_at(usize::from(self.length));
        check_value(self.alphabet, prefix_state(self.alphabet, &head), random.iter().copied()) != check[0]
    }
}

/// Makes the codes of one batch: the prefix is read (and its part of the check computed) once.
#[derive(Debug, Clone)]
pub struct CodeMaker<'a> {
    format: CodeFormat,
    prefix: &'a str,
    /// The check's state after the canonical prefix.
    after_prefix: u8,
}

impl<'a> CodeMaker<'a> {
    /// A maker of `format` codes behind `prefix`.
    pub fn new(format: CodeFormat, prefix: &'a str) -> Self {
        let after_prefix = prefix_state(format.alphabet, &format.alphabet.canonical(prefix));
        Self { format, prefix, after_prefix }
    }

    /// The code of `random` (symbols of the alphabet): the prefix, `random`, and the check
    /// character when the format has one.
    pub fn code(&self, random: &[u8]) -> String {
        let mut code = String::with_capacity(self.prefix.len() + random.len() + 1);
        code.push_str(self.prefix);
        code.extend(random.iter().map(|b| char::from(*b)));
        if self.format.check_char {
            let alphabet = self.format.alphabet;
            let values = random.iter().map(|b| alphabet.value(*b).unwrap_or(0));
            let check = check_value(alphabet, self.after_prefix, values);
            code.push(char::from(alphabet.symbols()[usize::from(check)]));
        }
        code
    }
}

/// The check's state after the canonical prefix `head`.
///
/// The prefix enters as its bytes, each as two symbols (`byte / n`, `byte % n`), so every prefix
/// character counts whether or not it is in the alphabet; a mistake in the prefix is caught
/// anyway, because such a code matches no batch's prefix.
fn prefix_state(alphabet: Alphabet, head: &str) -> u8 {
    let n = alphabet.symbols().len() as u8;
    let field = Field::of(alphabet);
    head.bytes().fold(0, |interim, b| field.step(field.step(interim, b / n), b % n))
}

/// The check symbol's value after the prefix's state `after_prefix` and the random symbols'
/// values.
fn check_value(alphabet: Alphabet, after_prefix: u8, random: impl Iterator<Item = u8>) -> u8 {
    let field = Field::of(alphabet);
    let interim = random.fold(after_prefix, |interim, v| field.step(interim, v));
    // The check `c` makes the last step land on 0: a·interim + c = 0.
    field.neg(field.times_a(interim))
}

/// The finite field a check runs in, over symbol values `0..n`.
#[derive(Clone, Copy)]
enum Field {
    /// GF(32) as polynomials over GF(2) modulo x^5 + x^2 + 1; `a` = x.
    Gf32,
    /// GF(4) x GF(9): value `v` is (`v / 9`, `v % 9`). GF(4) is GF(2)[x] / (x^2 + x + 1), GF(9)
    /// is GF(3)[x] / (x^2 + 1) with `p + 3q` standing for p + q·x; `a` = (x, x).
    Gf4xGf9,
}

impl Field {
    fn of(alphabet: Alphabet) -> Self {
        match alphabet {
            Alphabet::Readable => Field::Gf32,
            Alphabet::Alnum => Field::Gf4xGf9,
        }
    }

    /// One step of the quasigroup: `interim * v = a·interim + v`.
    fn step(self, interim: u8, v: u8) -> u8 {
        self.add(self.times_a(interim), v)
    }

    fn times_a(self, v: u8) -> u8 {
        match self {
            Field::Gf32 => {
                let shifted = v << 1;
                if shifted & 0b10_0000 != 0 {
                    shifted ^ 0b10_0101
                } else {
                    shifted
                }
            }
            Field::Gf4xGf9 => {
                let (g4, g9) = (v / 9, v % 9);
                let shifted = g4 << 1;
                let g4 = if shifted & 0b100 != 0 { shifted ^ 0b111 } else { shifted };
                // (p + q·x)·x = p·x + q·x^2 = -q + p·x, since x^2 = -1.
                let (p, q) = (g9 % 3, g9 / 3);
                let g9 = (3 - q) % 3 + 3 * p;
                g4 * 9 + g9
            }
        }
    }

    fn add(self, u: u8, v: u8) -> u8 {
        match self {
            Field::Gf32 => u ^ v,
            Field::Gf4xGf9 => {
                let g4 = (u / 9) ^ (v / 9);
                let (up, uq, vp, vq) = (u % 9 % 3, u % 9 / 3, v % 9 % 3, v % 9 / 3);
                g4 * 9 + (up + vp) % 3 + 3 * ((uq + vq) % 3)
            }
        }
    }

    fn neg(self, v: u8) -> u8 {
        match self {
            Field::Gf32 => v,
            Field::Gf4xGf9 => {
                let (p, q) = (v % 9 % 3, v % 9 / 3);
                (v / 9) * 9 + (3 - p) % 3 + 3 * ((3 - q) % 3)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn readable(length: u8) -> CodeFormat {
        CodeFormat { alphabet: Alphabet::Readable, length, check_char: true }
    }

    #[test]
    fn alnum_is_named_after_what_it_is_and_seed_stays_an_alias() {
        assert_eq!(Alphabet::Alnum.as_str(), "alnum");
        for name in ["alnum", " SEED ", "seed"] {
            assert_eq!(Alphabet::parse(name).unwrap(), Alphabet::Alnum, "{name}");
        }
        assert_eq!(serde_json::from_str::<Alphabet>("\"seed\"").unwrap(), Alphabet::Alnum);
        assert_eq!(serde_json::to_string(&Alphabet::Alnum).unwrap(), "\"alnum\"");
    }

    #[test]
    fn alphabets_are_the_promised_symbols() {
        assert_eq!(Alphabet::Alnum.symbols().len(), 36);
        assert_eq!(Alphabet::Readable.symbols().len(), 32);
        for b in b"ILOU" {
            assert!(!Alphabet::Readable.symbols().contains(b));
        }

        for alphabet in Alphabet::ALL {
            for (v, b) in alphabet.symbols().iter().enumerate() {
                assert_eq!(alphabet.value(*b), Some(v as u8));
            }
            assert_eq!(Alphabet::parse(alphabet.as_str()).unwrap(), alphabet);
        }
        let bad = Alphabet::parse("base64").unwrap_err();
        assert_eq!(
            (bad.field, bad.message.as_str()),
            ("alphabet", "alphabet must be \"alnum\" or \"readable\", got \"base64\"")
        );
    }

    #[test]
    fn length_rule() {
        assert!(CodeFormat::new(Alphabet::Alnum, 6, false).is_ok());
        assert!(CodeFormat::new(Alphabet::Alnum, 32, false).is_ok());
        for bad in [5, 33, -1, 300] {
            let e = CodeFormat::new(Alphabet::Alnum, bad, false).unwrap_err();
            assert_eq!(e.field, "length");
            assert_eq!(e.message, format!("length must be between 6 and 32, got {bad}"));
        }
    }

    #[test]
    fn every_field_step_is_a_quasigroup_and_totally_anti_symmetric() {
        for alphabet in Alphabet::ALL {
            let n = alphabet.symbols().len() as u8;
            let field = Field::of(alphabet);
            for x in 0..n {
                // Rows and columns are permutations (a quasigroup).
                let row: std::collections::HashSet<u8> = (0..n).map(|y| field.step(x, y)).collect();
                let column: std::collections::HashSet<u8> = (0..n).map(|y| field.step(y, x)).collect();
                assert_eq!((row.len(), column.len()), (usize::from(n), usize::from(n)), "{alphabet}");
                assert!(row.iter().chain(&column).all(|v| *v < n));
                assert_eq!(field.add(x, field.neg(x)), 0);
            }
            // (c*x)*y = (c*y)*x only when x = y.
            for c in 0..n {
                for x in 0..n {
                    for y in 0..n {
                        if x != y {
                            assert_ne!(field.step(field.step(c, x), y), field.step(field.step(c, y), x));
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_code_with_its_check_passes_and_folds() {
        let format = readable(8);
        let code = format.code("SPONSOR-", b"7K3M9P2Q");
        assert_eq!(code.len(), "SPONSOR-".len() + 9);
        assert!(!format.mistyped("SPONSOR-", &code));
        // Typed in lower case, with spaces and the look-alikes of the prefix: still the code.
        let typed = format!("sp0ns0r {}", code["SPONSOR-".len()..].to_lowercase());
        assert!(!format.mistyped("SPONSOR-", &typed));
        assert_eq!(fold_key(&typed), fold_key(&code));
        // Another prefix or length: not this format's shape, so not a typo of it.
        assert!(!format.mistyped("SPEAKER-", &code));
        assert!(!format.mistyped("SPONSOR-", &code[..code.len() - 1]));
        let alnum = CodeFormat { alphabet: Alphabet::Alnum, length: 8, check_char: true };
        let code = alnum.code("P-", b"AB12CD34");
        assert!(!alnum.mistyped("p-", &code.to_lowercase()));
        let mut wrong = code.into_bytes();
        let last = wrong.len() - 1;
        wrong[last] = if wrong[last] == b'A' { b'B' } else { b'A' };
        assert!(alnum.mistyped("P-", std::str::from_utf8(&wrong).unwrap()));
    }

    #[test]
    fn folding_maps_every_look_alike() {
        assert_eq!(fold_key("o0Oi1IlL"), "00011111");
        assert_eq!(fold_key("SP0NSOR-A"), fold_key("SPONSOR-A"));
        assert_eq!(fold_key(" ab-cd ef "), "ABCDEF");
        assert_eq!(fold_key("x_y.z"), "X_Y.Z");
    }

    fn format_strategy() -> impl Strategy<Value = CodeFormat> {
        (prop_oneof![Just(Alphabet::Alnum), Just(Alphabet::Readable)], 6u8..=32)
            .prop_map(|(alphabet, length)| CodeFormat { alphabet, length, check_char: true })
    }

    /// A format, a prefix and random symbols of that format.
    fn coded() -> impl Strategy<Value = (CodeFormat, String, Vec<u8>)> {
        (format_strategy(), "[A-Za-z0-9][A-Za-z0-9._-]{0,19}", any::<u64>()).prop_map(|(format, prefix, seed)| {
            let symbols = format.alphabet.symbols();
            let mut state = seed;
            let random = (0..format.length)
                .map(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    symbols[(state >> 33) as usize % symbols.len()]
                })
                .collect();
            (format, prefix, random)
        })
    }

    proptest! {
        #[test]
        fn check_detects_every_single_substitution((format, prefix, random) in coded()) {
            let code = format.code(&prefix, &random);
            prop_assert!(!format.mistyped(&prefix, &code));
            let suffix_at = prefix.len();
            let mut bytes = code.into_bytes();
            for i in suffix_at..bytes.len() {
                let original = bytes[i];
                for &other in format.alphabet.symbols() {
                    if other == original {
                        continue;
                    }
                    bytes[i] = other;
                    let typed = std::str::from_utf8(&bytes).unwrap();
                    prop_assert!(format.mistyped(&prefix, typed), "{} not caught", typed);
                }
                bytes[i] = original;
            }
        }

        #[test]
        fn check_detects_every_adjacent_transposition((format, prefix, random) in coded()) {
            let code = format.code(&prefix, &random);
            let mut bytes = code.into_bytes();
            for i in prefix.len()..bytes.len() - 1 {
                if bytes[i] == bytes[i + 1] {
                    continue;
                }
                bytes.swap(i, i + 1);
                let typed = std::str::from_utf8(&bytes).unwrap();
                prop_assert!(format.mistyped(&prefix, typed), "{} not caught", typed);
                bytes.swap(i, i + 1);
            }
        }

        #[test]
        fn folding_is_idempotent(text in "[ A-Za-z0-9._-]{0,40}") {
            let once = fold_key(&text);
            prop_assert_eq!(fold_key(&once), once.clone());
            prop_assert!(!once.contains(['O', 'I', 'L', '-', ' ']));
            prop_assert!(!once.bytes().any(|b| b.is_ascii_lowercase()));
        }

        #[test]
        fn readable_codes_survive_look_alikes((format, prefix, random) in coded()) {
            let code = format.code(&prefix, &random);
            // Whatever the reader confuses (case, 0/O, 1/I/L) and however they space it out.
            let garbled: String = code
                .chars()
                .enumerate()
                .flat_map(|(i, c)| {
                    let c = match (c, i % 3) {
                        ('0', 0) => 'o',
                        ('0', _) => 'O',
                        ('1', 0) => 'l',
                        ('1', 1) => 'I',
                        ('1', _) => 'i',
                        (c, _) => c.to_ascii_lowercase(),
                    };
                    if i % 4 == 3 { vec![c, ' '] } else { vec![c] }
                })
                .collect();
            if format.alphabet == Alphabet::Readable {
                prop_assert_eq!(fold_key(&garbled), fold_key(&code));
                prop_assert!(!format.mistyped(&prefix, &garbled));
            }
        }
    }
}
