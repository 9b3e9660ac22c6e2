//! Proactive negotiation (RFC 9110 §12.5): the one reader of the `Accept`, `Accept-Encoding` and
//! `Accept-Language` lists every negotiator here uses.
//!
//! A list is comma-separated items, each a range (`application/json`, `text/*`, `*/*`; `gzip`,
//! `*`; `de-CH`) with optional parameters; its `q` parameter is the weight, a qvalue
//! (`0`, `0.5`, `1.000`; 1 when absent) read in thousandths. A weight of 0 means "not this one".
//! An item whose `q` is not a qvalue counts as weight 0: what a client could not state is not
//! taken as wanted. Range and parameter names are case-insensitive.
//!
//! For one value (a media type, a coding), the most specific range that matches it gives its
//! weight (RFC 9110 §12.5.1: `text/event-stream;q=0, */*` refuses the event stream and takes
//! everything else); no matching range, no weight.

/// One item of a list: its range (trimmed, as sent) and weight in thousandths (0..=1000).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preference<'a> {
    /// The range: a media range, a content coding or a language range.
    pub range: &'a str,
    /// The weight, 0..=1000 (`q=0.5` is 500).
    pub weight: u16,
}

/// The items of a list, in order; empty items (`a,,b`) are skipped.
pub fn preferences(header: &str) -> impl Iterator<Item = Preference<'_>> {
    header.split(',').filter_map(|item| {
        let mut parts = item.split(';');
        let range = parts.next().unwrap_or("").trim();
        if range.is_empty() {
            return None;
        }
        let mut weight = 1000;
        for param in parts {
            if let Some((name, value)) = param.split_once('=')
                && name.trim().eq_ignore_ascii_case("q")
            {
                weight = qvalue(value.trim()).unwrap_or(0);
            }
        }
        Some(Preference { range, weight })
    })
}

/// A qvalue (`0`, `0.5`, `1`, `1.000`) in thousandths; `None` if it is not one.
pub fn qvalue(q: &str) -> Option<u16> {
    let (int, frac) = q.split_once('.').unwrap_or((q, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u16, |n, b| n * 10 + u16::from(b - b'0'));
    match (int, thousandths) {
        ("0", t) => Some(t),
        ("1", 0) => Some(1000),
        _ => None,
    }
}

/// The weight an `Accept` header gives `media_type` (`type/subtype`): that of the most specific
/// matching range (`type/subtype`, then `type/*`, then `*/*`); `None` when no range matches or
/// there is no header.
pub fn media_weight(accept: Option<&str>, media_type: &str) -> Option<u16> {
    let (kind, _) = media_type.split_once('/')?;
    let mut best: Option<(u8, u16)> = None;
    for p in preferences(accept?) {
        let specificity = if p.range.eq_ignore_ascii_case(media_type) {
            3
        } else if p
            .range
            .strip_suffix("/*")
            .is_some_and(|k| k.eq_ignore_ascii_case(kind))
        {
            2
        } else if p.range == "*/*" {
            1
        } else {
            continue;
        };
        if best.is_none_or(|(s, _)| specificity > s) {
            best = Some((specificity, p.weight));
        }
    }
    best.map(|(_, weight)| weight)
}

/// Whether an `Accept` header names `media_type` itself (not through a wildcard) with a weight
/// above 0: what a response only some clients can read (an event stream, a vendor type) needs.
/// (Listed twice, the first item counts.)
pub fn names_media_type(accept: Option<&str>, media_type: &str) -> bool {
    accept
        .and_then(|a| preferences(a).find(|p| p.range.eq_ignore_ascii_case(media_type)))
        .is_some_and(|p| p.weight > 0)
}

/// The weight an `Accept-Encoding` header gives `coding`, or any of its `aliases`: the coding's
/// own item (the first listed), else `*`'s; `None` when neither is listed.
pub fn coding_weight(accept_encoding: &str, coding: &str, aliases: &[&str]) -> Option<u16> {
    let mut star = None;
    for p in preferences(accept_encoding) {
        if std::iter::once(&coding)
            .chain(aliases)
            .any(|c| p.range.eq_ignore_ascii_case(c))
        {
            return Some(p.weight);
        }
        if p.range == "*" && star.is_none() {
            star = Some(p.weight);
        }
    }
    star
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_and_weights_are_read_as_rfc_9110_writes_them() {
        let got: Vec<_> = preferences(" text/html ;level=1, a/b;Q=0.5,, */*;q=0 ,x;q=2,y;q=0.1234")
            .map(|p| (p.range, p.weight))
            .collect();
        assert_eq!(
            got,
            [
                ("text/html", 1000),
                ("a/b", 500),
                ("*/*", 0),
                ("x", 0),
                ("y", 0)
            ]
        );
    }

    #[test]
    fn qvalues_are_exact_thousandths_and_nothing_else_is_one() {
        for (q, w) in [
            ("0", Some(0)),
            ("0.", Some(0)),
            ("0.5", Some(500)),
            ("0.05", Some(50)),
            ("0.001", Some(1)),
            ("1", Some(1000)),
            ("1.000", Some(1000)),
            ("1.5", None),
            ("2", None),
            ("0.0001", None),
            ("-0", None),
            ("0.a", None),
            ("", None),
            (".5", None),
        ] {
            assert_eq!(qvalue(q), w, "q={q}");
        }
    }

    #[test]
    fn the_most_specific_matching_range_gives_a_media_types_weight() {
        let json = "application/json";
        assert_eq!(media_weight(None, json), None);
        assert_eq!(media_weight(Some("text/html"), json), None);
        assert_eq!(media_weight(Some("*/*"), json), Some(1000));
        assert_eq!(
            media_weight(Some("application/*;q=0.2, */*"), json),
            Some(200)
        );
        assert_eq!(
            media_weight(Some("*/*, application/*, Application/JSON;q=0"), json),
            Some(0)
        );
        assert_eq!(
            media_weight(Some("application/json;q=0.3, */*;q=0"), json),
            Some(300)
        );
    }

    #[test]
    fn naming_a_type_takes_the_type_itself_with_a_weight() {
        let sse = "text/event-stream";
        assert!(names_media_type(Some("text/event-stream"), sse));
        assert!(names_media_type(
            Some("application/json, TEXT/event-stream;q=0.1"),
            sse
        ));
        assert!(!names_media_type(Some("*/*"), sse));
        assert!(!names_media_type(Some("text/*"), sse));
        assert!(!names_media_type(Some("text/event-stream;q=0, */*"), sse));
        assert!(!names_media_type(None, sse));
    }

    #[test]
    fn a_codings_own_item_beats_the_wildcard() {
        assert_eq!(coding_weight("gzip", "gzip", &["x-gzip"]), Some(1000));
        assert_eq!(
            coding_weight("br, X-GZIP;q=0.5", "gzip", &["x-gzip"]),
            Some(500)
        );
        assert_eq!(coding_weight("*;q=0.3, gzip;q=0", "gzip", &[]), Some(0));
        assert_eq!(coding_weight("br, *;q=0.3", "gzip", &[]), Some(300));
        assert_eq!(coding_weight("br, identity", "gzip", &[]), None);
        assert_eq!(coding_weight("", "gzip", &[]), None);
    }
}
