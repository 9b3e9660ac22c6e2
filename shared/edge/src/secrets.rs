//! Random ids and secrets, and digests: API-key ids and secrets, signing secrets, webhook
//! subscription and message ids, review ids, and the SHA-256 a key or a signature is looked up
//! by. Random bytes come from the platform ([`Platform::random_bytes`]) or, where the code holds
//! none, from the host's source ([`crate::scope::random_bytes`]); a failure is a `500`, never
//! weaker bytes.

use leaderboard::Result;
use sha2::{Digest, Sha256};

use crate::platform::Platform;

/// Lowercase hex SHA-256.
pub fn sha256_hex(raw: &str) -> String {
    sha256_hex_bytes(raw.as_bytes())
}

/// Lowercase hex SHA-256 of bytes.
pub fn sha256_hex_bytes(raw: &[u8]) -> String {
    Sha256::digest(raw)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `n` bytes from the platform's random source ([`Platform::random_bytes`]); its failure is a
/// `500`, never weaker bytes.
pub fn random_bytes(platform: &dyn Platform, n: usize) -> Result<Vec<u8>> {
    Ok(platform.random_bytes(n)?)
}

/// `n` hex digits from the platform's random source: API-key ids and secrets, request-signing
/// secrets, webhook subscription ids.
pub fn random_hex(platform: &dyn Platform, n: usize) -> Result<String> {
    random_bytes(platform, n.div_ceil(2)).map(|bytes| hex_digits(&bytes, n))
}

/// `n` hex digits for an id that must be unique but is no secret (webhook message ids, review
/// ids), from the host's random source ([`crate::scope::random_bytes`]) without a platform,
/// which the code that makes them does not hold.
pub fn unique_hex(n: usize) -> Result<String> {
    crate::scope::random_bytes(n.div_ceil(2))
        .map(|bytes| hex_digits(&bytes, n))
        .map_err(|e| crate::platform::PlatformError::Random(e).into())
}

fn hex_digits(bytes: &[u8], n: usize) -> String {
    let mut hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    hex.truncate(n);
    hex
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::RecordedRandom;
    use leaderboard::LeaderboardError;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn secrets_are_the_platforms_random_bytes() {
        let platform = RecordedRandom::default();
        let id = random_hex(&platform, 16).unwrap_or_default();
        let secret = random_hex(&platform, 64).unwrap_or_default();
        let drawn = platform.drawn.borrow();
        assert_eq!(drawn.len(), 2, "one draw each");
        assert_eq!(id, hex(&drawn[0]));
        assert_eq!(secret, hex(&drawn[1]));
        assert_eq!((id.len(), secret.len()), (16, 64));
    }

    #[test]
    fn a_failing_source_is_an_error_never_a_weaker_secret() {
        let platform = RecordedRandom {
            failing: true,
            ..RecordedRandom::default()
        };
        assert!(matches!(
            random_hex(&platform, 64),
            Err(LeaderboardError::Internal(_))
        ));
    }

    #[test]
    fn ids_from_the_host_source_are_distinct() {
        let ids: std::collections::HashSet<String> = (0..100)
            .map(|_| unique_hex(24).unwrap_or_default())
            .collect();
        assert_eq!(ids.len(), 100);
        assert!(ids.iter().all(|id| id.len() == 24));
    }
}
