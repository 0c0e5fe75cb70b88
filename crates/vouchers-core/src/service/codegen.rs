//! Where random code suffixes come from.
//!
//! The product draws from the operating system's CSPRNG only ([`OsCodeSource`]). Tests inject
//! their own [`CodeSource`] to force collisions and exhaustion.

use rand::rngs::OsRng;
use rand::TryRngCore;

use crate::domain::{CODE_ALPHABET, CODE_SUFFIX_LEN};
use crate::VoucherError;

/// A supply of code suffixes: [`CODE_SUFFIX_LEN`] characters from [`CODE_ALPHABET`].
pub trait CodeSource: Send {
    /// Writes the next suffix into `suffix`.
    fn fill_suffix(&mut self, suffix: &mut [u8; CODE_SUFFIX_LEN]) -> Result<(), VoucherError>;
}

/// Largest multiple of 36 that fits in a byte: bytes at or above it are rejected, so every
/// accepted byte maps to one of the 36 characters with probability exactly 1/36 (no modulo bias).
const ACCEPT_BELOW: u8 = (256 / CODE_ALPHABET.len() * CODE_ALPHABET.len()) as u8;

/// Suffixes drawn uniformly from the operating system's CSPRNG (`getrandom`).
///
/// Bytes are fetched 512 at a time: one system call serves about 60 codes instead of one call
/// per character, which matters for a batch of a million. Each byte is still used once and only
/// once, straight from the OS generator.
pub struct OsCodeSource {
    buf: [u8; 512],
    pos: usize,
}

impl OsCodeSource {
    /// A source with an empty buffer; the first draw fills it.
    pub fn new() -> Self {
        Self { buf: [0; 512], pos: 512 }
    }

    fn next_byte(&mut self) -> Result<u8, VoucherError> {
        if self.pos == self.buf.len() {
            OsRng.try_fill_bytes(&mut self.buf).map_err(|e| VoucherError::Random(Box::new(e)))?;
            self.pos = 0;
        }
        let byte = self.buf[self.pos];
        self.pos += 1;
        Ok(byte)
    }
}

impl Default for OsCodeSource {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for OsCodeSource {
    fn drop(&mut self) {
        // Unused random bytes could predict nothing already issued, but leave none behind anyway.
        self.buf.fill(0);
    }
}

impl CodeSource for OsCodeSource {
    fn fill_suffix(&mut self, suffix: &mut [u8; CODE_SUFFIX_LEN]) -> Result<(), VoucherError> {
        for slot in suffix.iter_mut() {
            let byte = loop {
                let byte = self.next_byte()?;
                if byte < ACCEPT_BELOW {
                    break byte;
                }
            };
            *slot = CODE_ALPHABET[usize::from(byte) % CODE_ALPHABET.len()];
        }
        Ok(())
    }
}

/// A source that replays fixed suffixes, then repeats the last one forever: for tests that force
/// collisions and exhaustion.
#[derive(Debug, Clone)]
pub struct ScriptedCodeSource {
    script: Vec<[u8; CODE_SUFFIX_LEN]>,
    next: usize,
}

impl ScriptedCodeSource {
    /// Replays `suffixes` (each 8 characters of the alphabet) in order, then repeats the last.
    pub fn new(suffixes: &[&str]) -> Self {
        let script = suffixes
            .iter()
            .map(|s| {
                let mut out = [b'A'; CODE_SUFFIX_LEN];
                for (o, b) in out.iter_mut().zip(s.bytes()) {
                    *o = b;
                }
                out
            })
            .collect();
        Self { script, next: 0 }
    }
}

impl CodeSource for ScriptedCodeSource {
    fn fill_suffix(&mut self, suffix: &mut [u8; CODE_SUFFIX_LEN]) -> Result<(), VoucherError> {
        let i = self.next.min(self.script.len().saturating_sub(1));
        *suffix = self.script.get(i).copied().unwrap_or([b'A'; CODE_SUFFIX_LEN]);
        self.next += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draw(n: usize) -> Vec<[u8; CODE_SUFFIX_LEN]> {
        let mut source = OsCodeSource::new();
        (0..n)
            .map(|_| {
                let mut s = [0; CODE_SUFFIX_LEN];
                source.fill_suffix(&mut s).unwrap();
                s
            })
            .collect()
    }

    #[test]
    fn suffixes_use_only_the_alphabet() {
        for s in draw(2_000) {
            assert!(s.iter().all(|b| CODE_ALPHABET.contains(b)), "{s:?}");
        }
    }

    #[test]
    fn accept_bound_is_a_multiple_of_the_alphabet() {
        assert_eq!(ACCEPT_BELOW, 252);
        assert_eq!(usize::from(ACCEPT_BELOW) % CODE_ALPHABET.len(), 0);
    }

    /// Chi-square goodness of fit of 36 categories (35 degrees of freedom) over 288,000 draws.
    /// The 99.99th percentile of chi-square(35) is about 77.9 (and a biased generator, e.g.
    /// `byte % 36` without rejection, scores far above it at this size: its first 4 characters
    /// are 8/7 as likely, which adds about 450). Each position is checked too.
    #[test]
    fn characters_are_uniform() {
        let codes = draw(36_000);
        let expected_total = (codes.len() * CODE_SUFFIX_LEN) as f64 / 36.0;
        let mut total = [0u64; 36];
        let mut per_position = [[0u64; 36]; CODE_SUFFIX_LEN];
        for code in &codes {
            for (pos, b) in code.iter().enumerate() {
                let i = CODE_ALPHABET.iter().position(|a| a == b).unwrap();
                total[i] += 1;
                per_position[pos][i] += 1;
            }
        }
        let chi = |counts: &[u64; 36], expected: f64| -> f64 {
            counts.iter().map(|&c| (c as f64 - expected).powi(2) / expected).sum()
        };
        let overall = chi(&total, expected_total);
        assert!(overall < 77.9, "chi-square {overall:.1} over all positions");
        for (pos, counts) in per_position.iter().enumerate() {
            // 99.999th percentile for 35 dof is about 84.5; 8 tests at once.
            let stat = chi(counts, codes.len() as f64 / 36.0);
            assert!(stat < 84.5, "chi-square {stat:.1} at position {pos}");
        }
    }

    #[test]
    fn a_biased_source_fails_the_same_test() {
        // The same statistic on `byte % 36` without rejection: shows the test can fail.
        let mut counts = [0u64; 36];
        for b in 0u16..=255 {
            counts[usize::from(b) % 36] += 1_000;
        }
        let n: u64 = counts.iter().sum();
        let expected = n as f64 / 36.0;
        let stat: f64 = counts.iter().map(|&c| (c as f64 - expected).powi(2) / expected).sum();
        assert!(stat > 77.9, "{stat}");
    }

    #[test]
    fn scripted_source_repeats_its_last_suffix() {
        let mut source = ScriptedCodeSource::new(&["AAAAAAAA", "BBBBBBBB"]);
        let mut s = [0; CODE_SUFFIX_LEN];
        for expected in [b"AAAAAAAA", b"BBBBBBBB", b"BBBBBBBB"] {
            source.fill_suffix(&mut s).unwrap();
            assert_eq!(&s, expected);
        }
    }
}
