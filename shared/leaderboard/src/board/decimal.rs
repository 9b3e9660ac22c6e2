//! Exact parsing of decimal number text (JSON number grammar) into scaled integers.
//!
//! Never goes through `f64` arithmetic: the text's digits and exponent are kept and scaled with
//! checked integer math, so "12.345" at scale 3 is exactly 12345 and "1.2e+15" at scale 0 is exactly
//! 1200000000000000.

/// Longest accepted number text, in bytes.
pub(crate) const MAX_TEXT_LEN: usize = 64;

/// Why a text could not be turned into a scaled integer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DecimalError {
    /// Not a number in JSON grammar (reason).
    Syntax(&'static str),
    /// Exact value needs this many fractional digits (more than the scale allows).
    TooManyFractionDigits(u64),
    /// The value does not fit an `i64` after scaling.
    Overflow,
}

/// A decimal value `(-1)^negative × digits × 10^exp`, normalised: `digits` has no leading or
/// trailing zeros (empty means zero).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decimal {
    negative: bool,
    digits: Vec<u8>,
    exp: i64,
}

fn take_digits(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    i
}

impl Decimal {
    /// Parses `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    pub(crate) fn parse(text: &str) -> Result<Self, DecimalError> {
        if text.len() > MAX_TEXT_LEN {
            return Err(DecimalError::Syntax("number text is too long"));
        }
        let b = text.as_bytes();
        let mut i = 0;
        let negative = b.first() == Some(&b'-');
        if negative {
            i += 1;
        }
        let int_start = i;
        i = take_digits(b, i);
        let int_part = &b[int_start..i];
        if int_part.is_empty() {
            return Err(DecimalError::Syntax("expected a digit"));
        }
        if int_part.len() > 1 && int_part[0] == b'0' {
            return Err(DecimalError::Syntax("leading zeros are not allowed"));
        }
        let mut frac_part: &[u8] = &[];
        if b.get(i) == Some(&b'.') {
            let start = i + 1;
            i = take_digits(b, start);
            frac_part = &b[start..i];
            if frac_part.is_empty() {
                return Err(DecimalError::Syntax(
                    "expected a digit after the decimal point",
                ));
            }
        }
        let mut exp: i64 = 0;
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            let exp_negative = b.get(i) == Some(&b'-');
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let start = i;
            i = take_digits(b, start);
            let exp_digits = &b[start..i];
            if exp_digits.is_empty() {
                return Err(DecimalError::Syntax("expected a digit in the exponent"));
            }
            for d in exp_digits {
                exp = exp * 10 + i64::from(d - b'0');
                if exp > 100_000 {
                    return Err(DecimalError::Overflow);
                }
            }
            if exp_negative {
                exp = -exp;
            }
        }
        if i != b.len() {
            return Err(DecimalError::Syntax("unexpected character"));
        }
        // `frac_part.len()` <= MAX_TEXT_LEN, so the cast cannot truncate.
        exp -= frac_part.len() as i64;
        let mut digits: Vec<u8> = int_part.iter().chain(frac_part).map(|d| d - b'0').collect();
        let leading = digits.iter().take_while(|d| **d == 0).count();
        digits.drain(..leading);
        while digits.last() == Some(&0) {
            digits.pop();
            exp += 1;
        }
        if digits.is_empty() {
            return Ok(Self {
                negative: false,
                digits,
                exp: 0,
            });
        }
        Ok(Self {
            negative,
            digits,
            exp,
        })
    }

    /// Number of significant digits (0 for zero).
    pub(crate) fn significant_digits(&self) -> usize {
        self.digits.len()
    }

    /// The exact value × 10^scale as an `i64`.
    pub(crate) fn to_scaled(&self, scale: u8) -> Result<i64, DecimalError> {
        if self.digits.is_empty() {
            return Ok(0);
        }
        let e = self.exp + i64::from(scale);
        if e < 0 {
            return Err(DecimalError::TooManyFractionDigits(self.exp.unsigned_abs()));
        }
        // i64 has at most 19 digits.
        if self.digits.len() as i64 + e > 19 {
            return Err(DecimalError::Overflow);
        }
        let mut v: i128 = 0;
        for d in &self.digits {
            v = v * 10 + i128::from(*d);
        }
        for _ in 0..e {
            v *= 10;
        }
        if self.negative {
            v = -v;
        }
        i64::try_from(v).map_err(|_| DecimalError::Overflow)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn scaled(s: &str, scale: u8) -> Result<i64, DecimalError> {
        Decimal::parse(s).and_then(|d| d.to_scaled(scale))
    }

    #[test]
    fn exact_values() {
        assert_eq!(scaled("12.345", 3), Ok(12345));
        assert_eq!(scaled("-0.5", 1), Ok(-5));
        assert_eq!(scaled("-0.5", 3), Ok(-500));
        assert_eq!(scaled("12.50", 1), Ok(125));
        assert_eq!(scaled("0", 6), Ok(0));
        assert_eq!(scaled("-0", 0), Ok(0));
        assert_eq!(scaled("1.2e+15", 0), Ok(1_200_000_000_000_000));
        assert_eq!(scaled("1.2E15", 0), Ok(1_200_000_000_000_000));
        assert_eq!(scaled("125e-2", 2), Ok(125));
        assert_eq!(scaled("1000.0", 0), Ok(1000));
        assert_eq!(scaled("9223372036854775807", 0), Ok(i64::MAX));
        assert_eq!(scaled("-9223372036854775808", 0), Ok(i64::MIN));
    }

    #[test]
    fn rejections() {
        assert_eq!(
            scaled("12.3456", 3),
            Err(DecimalError::TooManyFractionDigits(4))
        );
        assert_eq!(
            scaled("1e-7", 6),
            Err(DecimalError::TooManyFractionDigits(7))
        );
        assert_eq!(
            scaled("0.5", 0),
            Err(DecimalError::TooManyFractionDigits(1))
        );
        assert_eq!(
            scaled("9223372036854775808", 0),
            Err(DecimalError::Overflow)
        );
        assert_eq!(scaled("1e19", 0), Err(DecimalError::Overflow));
        assert_eq!(scaled("1e99999999", 0), Err(DecimalError::Overflow));
        for bad in [
            "", "-", "+1", "01", ".5", "5.", "1e", "1e+", "NaN", "inf", " 1", "1 ", "0x10", "1_0",
            "--1",
        ] {
            assert!(
                matches!(scaled(bad, 2), Err(DecimalError::Syntax(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            scaled(&"1".repeat(65), 0),
            Err(DecimalError::Syntax(_))
        ));
    }

    #[test]
    fn significant_digits_ignore_padding_zeros() {
        assert_eq!(Decimal::parse("0.00120").unwrap().significant_digits(), 2);
        assert_eq!(Decimal::parse("0").unwrap().significant_digits(), 0);
    }
}
