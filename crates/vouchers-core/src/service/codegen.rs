//! Where random code suffixes come from.
//!
//! The product draws from the operating system's CSPRNG only ([`OsCodeSource`]). Tests inject
//! their own [`CodeSource`] to force collisions and exhaustion.

use rand::rngs::OsRng;
use rand::TryRngCore;

use crate::domain::Alphabet;
use crate::VoucherError;

/// A supply of random code symbols.
pub trait CodeSource: Send {
    /// Fills `random` with symbols of `alphabet`, each drawn uniformly.
    fn fill_suffix(&mut self, alphabet: Alphabet, random: &mut [u8]) -> Result<(), VoucherError>;
}

/// Bytes below this are accepted for an alphabet of `n` symbols: the largest multiple of `n` up
/// to 256, so every accepted byte maps to one symbol with probability exactly 1/n (no modulo
/// bias). 252 for the 36 alnum symbols; 256, every byte, for the 32 readable ones.
const fn accept_below(n: usize) -> u16 {
    (256 / n * n) as u16
}

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
    fn fill_suffix(&mut self, alphabet: Alphabet, random: &mut [u8]) -> Result<(), VoucherError> {
        let symbols = alphabet.symbols();
        let accept = accept_below(symbols.len());
        for slot in random.iter_mut() {
            let byte = loop {
                let byte = self.next_byte()?;
                if u16::from(byte) < accept {
                    break byte;
                }
            };
            *slot = symbols[usize::from(byte) % symbols.len()];
        }
        Ok(())
    }
}

/// A source that replays fixed suffixes, then repeats the last one forever: for tests that force
/// collisions and exhaustion.
#[derive(Debug, Clone)]
pub struct ScriptedCodeSource {
    script: Vec<Vec<u8>>,
    next: usize,
}

impl ScriptedCodeSource {
    /// Replays `suffixes` (symbols of the batch's alphabet; cut or padded with its first symbol
    /// to the batch's length) in order, then repeats the last.
    pub fn new(suffixes: &[&str]) -> Self {
        Self { script: suffixes.iter().map(|s| s.as_bytes().to_vec()).collect(), next: 0 }
    }
}

impl CodeSource for ScriptedCodeSource {
    fn fill_suffix(&mut self, alphabet: Alphabet, random: &mut [u8]) -> Result<(), VoucherError> {
        let i = self.next.min(self.script.len().saturating_sub(1));
        let line = self.script.get(i).map(Vec::as_slice).unwrap_or_default();
        for (k, slot) in random.iter_mut().enumerate() {
            *slot = line.get(k).copied().unwrap_or(alphabet.symbols()[0]);
        }
        self.next += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CodeFormat;

    fn draw(alphabet: Alphabet, length: usize, n: usize) -> Vec<Vec<u8>> {
        let mut source = OsCodeSource::new();
        (0..n)
            .map(|_| {
                let mut s = vec![0; length];
                source.fill_suffix(alphabet, &mut s).unwrap();
                s
            })
            .collect()
    }

    #[test]
    fn suffixes_use_only_the_alphabet() {
        for alphabet in Alphabet::ALL {
            for s in draw(alphabet, 8, 2_000) {
                assert!(s.iter().all(|b| alphabet.symbols().contains(b)), "{s:?}");
            }
        }
    }

    #[test]
    fn accept_bound_is_a_multiple_of_the_alphabet() {
        assert_eq!(accept_below(36), 252);
        assert_eq!(accept_below(32), 256);
        for alphabet in Alphabet::ALL {
            assert_eq!(usize::from(accept_below(alphabet.symbols().len())) % alphabet.symbols().len(), 0);
        }
    }

    /// Chi-square statistic of `counts` against a uniform expectation.
    fn chi_square(counts: &[u64]) -> f64 {
        let expected = counts.iter().sum::<u64>() as f64 / counts.len() as f64;
        counts.iter().map(|&c| (c as f64 - expected).powi(2) / expected).sum()
    }

    /// Upper bound of chi-square with `dof` degrees of freedom that a uniform source exceeds with
    /// chance about 1e-6 (Wilson-Hilferty, z = 4.75): 35 dof: 87.9; 31 dof: 81.1.
    fn bound(dof: f64) -> f64 {
        let z = 4.75;
        dof * (1.0 - 2.0 / (9.0 * dof) + z * (2.0 / (9.0 * dof)).sqrt()).powi(3)
    }

    /// Goodness of fit, for every alphabet and every length from 6 to 32: over all positions and
    /// at each position. A biased generator (`byte % 36` without rejection makes its first 4
    /// characters 8/7 as likely) scores far above the bound at these sizes.
    #[test]
    fn characters_are_uniform_for_every_alphabet_and_length() {
        for alphabet in Alphabet::ALL {
            let n = alphabet.symbols().len();
            let limit = bound((n - 1) as f64);
            for length in CodeFormat::MIN_LENGTH..=CodeFormat::MAX_LENGTH {
                let length = usize::from(length);
                // About 250,000 symbols per format; at least 4,000 codes for the per-position test.
                let codes = draw(alphabet, length, (250_000 / length).max(4_000));
                let mut total = vec![0u64; n];
                let mut per_position = vec![vec![0u64; n]; length];
                for code in &codes {
                    for (pos, b) in code.iter().enumerate() {
                        let i = alphabet.symbols().iter().position(|a| a == b).unwrap();
                        total[i] += 1;
                        per_position[pos][i] += 1;
                    }
                }
                let overall = chi_square(&total);
                assert!(overall < limit, "{alphabet} x{length}: chi-square {overall:.1} >= {limit:.1}");
                for (pos, counts) in per_position.iter().enumerate() {
                    let stat = chi_square(counts);
                    assert!(stat < limit, "{alphabet} x{length}: chi-square {stat:.1} at position {pos}");
                }
            }
        }
    }

    #[test]
    fn a_biased_source_fails_the_same_test() {
        // The same statistic on `byte % 36` without rejection: shows the test can fail.
        let mut counts = [0u64; 36];
        for b in 0u16..=255 {
            counts[usize::from(b) % 36] += 1_000;
        }
        let stat = chi_square(&counts);
        assert!(stat > bound(35.0), "{stat}");
    }

    #[test]
    fn scripted_source_repeats_its_last_suffix() {
        let mut source = ScriptedCodeSource::new(&["AAAAAAAA", "BBBBBBBB"]);
        let mut s = [0; 8];
        for expected in [b"AAAAAAAA", b"BBBBBBBB", b"BBBBBBBB"] {
            source.fill_suffix(Alphabet::Alnum, &mut s).unwrap();
            assert_eq!(&s, expected);
        }
    }
}
