//! The JSON codec's reading of a request message, as the protobuf JSON mapping (protojson) reads
//! one: a field named twice is refused, any field's `null` is its default, and an integer of any
//! width is a JSON number or a string holding one (`10`, `"10"`, `1e1`, `"1.0"`), refused when it
//! is not whole or not in the field's range. A number written with a fraction or an exponent is
//! read as a double, as a JavaScript client holds it: whole once rounded (`0.99999999999999999`
//! is 1) and below 2^53 in size (`1e16` is refused; a larger 64-bit integer is sent in digits,
//! as the mapping writes it). Every JSON request of the service is read by
//! [`read`]; the messages' integer fields name the module that writes them ([`int64`]: strings,
//! [`int32`]: numbers).

use serde::de::{self, DeserializeOwned, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Number, Value};

/// A request message from its JSON: read with each object's keys once, its `null` fields left
/// out, then as the message.
pub fn read<M: DeserializeOwned>(body: &[u8]) -> Result<M, serde_json::Error> {
    let body = if body.is_empty() {
        b"{}".as_slice()
    } else {
        body
    };
    let Unique(value) = serde_json::from_slice(body)?;
    serde_json::from_value(without_nulls(value))
}

/// A JSON value as serde_json reads one, refusing a key named twice in an object (where
/// `serde_json::Value` keeps the last): protojson refuses it, and so did the messages' own
/// derive before the nulls were taken out.
struct Unique(Value);

impl<'de> Deserialize<'de> for Unique {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueVisitor)
    }
}

struct UniqueVisitor;

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = Unique;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Unique, E> {
        Ok(Unique(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Unique, E> {
        Ok(Unique(Value::Number(v.into())))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Unique, E> {
        Ok(Unique(Value::Number(v.into())))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Unique, E> {
        Number::from_f64(v)
            .map(|n| Unique(Value::Number(n)))
            .ok_or_else(|| E::custom("a number JSON cannot hold"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Unique, E> {
        Ok(Unique(Value::String(v.to_string())))
    }

    fn visit_string<E>(self, v: String) -> Result<Unique, E> {
        Ok(Unique(Value::String(v)))
    }

    fn visit_unit<E>(self) -> Result<Unique, E> {
        Ok(Unique(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Unique, A::Error> {
        let mut items = Vec::new();
        while let Some(Unique(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Unique(Value::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
        let mut fields = Map::new();
        while let Some((key, Unique(value))) = map.next_entry::<String, Unique>()? {
            if fields.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate field `{key}`")));
            }
            fields.insert(key, value);
        }
        Ok(Unique(Value::Object(fields)))
    }
}

/// A JSON message with every `null` field left out, at any depth: the JSON mapping reads `null`
/// as the field's default (none of these messages has a `google.protobuf.Value`, where `null`
/// would be a value). An unknown field is refused unless it is `null`, which is left out with
/// the rest, as is a `null` under a field's other spelling (`as_of` beside `asOf`): laxer than
/// protojson there, which costs nothing. serde_json's parser bounds the depth (128), and so this
/// recursion.
fn without_nulls(v: Value) -> Value {
    match v {
        Value::Object(fields) => fields
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k, without_nulls(v)))
            .collect(),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

/// An integer field as the JSON mapping reads it, whatever its width: a JSON number, or a string
/// holding one, that is whole (`1e2` and `1.0` are; `1.5` is not; see the module docs for
/// doubles), or `null` for the field's default (`None`; [`read`] leaves nulls out first, so
/// this is for a message read any other way). A string is read by JSON's grammar, with no space
/// around it, so `"+5"`, `"007"` and `" 7"` are refused, as protojson refuses them.
fn integer<'de, D: Deserializer<'de>, T: std::str::FromStr>(d: D) -> Result<Option<T>, D::Error> {
    let number = match Value::deserialize(d)? {
        Value::Null => return Ok(None),
        Value::Number(n) => n,
        Value::String(s) => Some(s.as_str())
            .filter(|s| s.trim() == *s)
            .and_then(|s| serde_json::from_str::<Number>(s).ok())
            .ok_or_else(|| de::Error::custom(format!("'{s}' is not an integer")))?,
        _ => return Err(de::Error::custom("expected an integer or a string")),
    };
    whole(&number)
        .and_then(|text| text.parse().ok())
        .map(Some)
        .ok_or_else(|| de::Error::custom(format!("'{number}' is not an integer in range")))
}

/// A JSON number's digits when it is whole: as written for an integer, and for a float whose
/// value is a whole number small enough to be exact (below 2^53).
fn whole(n: &Number) -> Option<String> {
    if n.is_i64() || n.is_u64() {
        return Some(n.to_string());
    }
    const EXACT: f64 = 9_007_199_254_740_992.0;
    let f = n.as_f64()?;
    // The cast is exact: `f` is whole and its magnitude below 2^53.
    (f.fract() == 0.0 && f.abs() < EXACT).then(|| format!("{}", f as i64))
}

/// 64-bit integers as the JSON mapping writes them (strings), read as [`integer`] reads them.
pub(crate) mod int64 {
    use super::*;

    pub fn serialize<S: Serializer, T: std::fmt::Display>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: std::str::FromStr + Default>(
        d: D,
    ) -> Result<T, D::Error> {
        super::integer(d).map(Option::unwrap_or_default)
    }
}

/// [`int64`] for an `optional` field.
pub(crate) mod opt_int64 {
    use super::*;

    pub fn serialize<S: Serializer, T: std::fmt::Display>(
        v: &Option<T>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.collect_str(v),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: std::str::FromStr>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        super::integer(d)
    }
}

/// 32-bit integers as the JSON mapping writes them (numbers), read as [`integer`] reads them.
pub(crate) mod int32 {
    use super::*;

    pub fn serialize<S: Serializer, T: Serialize>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }

    pub use super::int64::deserialize;
}

/// [`int32`] for an `optional` field.
pub(crate) mod opt_int32 {
    use super::*;

    pub fn serialize<S: Serializer, T: Serialize>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }

    pub use super::opt_int64::deserialize;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::messages::{
        GetAroundRequest, GetLeaderboardRequest, StreamUpdatesRequest, SubmitScoreRequest,
    };

    fn limit(json: &str) -> Result<u32, String> {
        read::<GetLeaderboardRequest>(json.as_bytes())
            .map(|r| r.limit)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn integers_are_read_from_whole_numbers_or_strings_of_them() {
        for (json, want) in [
            ("7", 7),
            (r#""7""#, 7),
            ("7.0", 7),
            ("1e2", 100),
            (r#""1e2""#, 100),
            (r#""7.0""#, 7),
            ("null", 0),
        ] {
            assert_eq!(
                limit(&format!(r#"{{"board":"b","limit":{json}}}"#)),
                Ok(want),
                "{json}"
            );
        }
        for bad in [
            r#""-1""#,
            "-1",
            "4294967296",
            r#""x""#,
            "true",
            "1.5",
            r#""+5""#,
            r#""007""#,
            r#"" 7""#,
            "1e300",
        ] {
            let got = limit(&format!(r#"{{"board":"b","limit":{bad}}}"#));
            assert!(got.is_err(), "{bad}: {got:?}");
        }
        let radius = |json: &str| {
            read::<GetAroundRequest>(json.as_bytes())
                .map(|r| r.radius)
                .map_err(|e| e.to_string())
        };
        assert_eq!(radius(r#"{"board":"b","radius":"3"}"#), Ok(Some(3)));
        assert_eq!(radius(r#"{"board":"b","radius":null}"#), Ok(None));
        assert_eq!(radius(r#"{"board":"b"}"#), Ok(None));
        let subscore = |json: &str| {
            read::<SubmitScoreRequest>(json.as_bytes())
                .map(|r| r.subscore)
                .map_err(|e| e.to_string())
        };
        assert_eq!(subscore(r#"{"board":"b","subscore":null}"#), Ok(None));
        assert_eq!(subscore(r#"{"board":"b","subscore":-4}"#), Ok(Some(-4)));
        assert_eq!(
            subscore(r#"{"board":"b","subscore":"-9007199254740993"}"#),
            Ok(Some(-9_007_199_254_740_993)),
            "a 64-bit integer as a string keeps every digit"
        );
        assert_eq!(
            subscore(r#"{"board":"b","subscore":-9223372036854775808}"#),
            Ok(Some(i64::MIN))
        );
        for beyond in ["9223372036854775808", "1e16", r#""1e16""#] {
            let got = subscore(&format!(r#"{{"board":"b","subscore":{beyond}}}"#));
            assert!(got.is_err(), "{beyond}: {got:?}");
        }
        // 32-bit integers are written as numbers, 64-bit ones as strings.
        let around = GetAroundRequest {
            board: "b".into(),
            radius: Some(3),
            ..Default::default()
        };
        assert_eq!(serde_json::to_value(&around).unwrap()["radius"], 3);
    }

    #[test]
    fn nulls_are_defaults_and_a_field_named_twice_is_refused() {
        let leaderboard = |json: &str| read::<GetLeaderboardRequest>(json.as_bytes());
        let got =
            leaderboard(r#"{"board":"b","cursor":null,"at":{"period":null,"asOf":"x"}}"#).unwrap();
        assert_eq!(got.cursor, "");
        assert_eq!(got.at.map(|a| a.as_of), Some("x".to_string()));
        assert!(
            leaderboard(r#"{"board":"b","bored":"x"}"#).is_err(),
            "unknown field"
        );
        let twice = leaderboard(r#"{"board":"b","limit":1,"limit":2}"#).map(|r| r.limit);
        assert!(
            twice
                .as_ref()
                .is_err_and(|e| e.to_string().contains("duplicate field `limit`")),
            "{twice:?}"
        );
        assert!(leaderboard(r#"{"board":"b","at":{"asOf":"x","asOf":"y"}}"#).is_err());
        assert_eq!(leaderboard("").map(|r| r.board).ok(), Some(String::new()));
        let stream = read::<StreamUpdatesRequest>(br#"{"board":"b","player":null}"#);
        assert_eq!(stream.map(|r| r.player).ok(), Some(String::new()));
    }
}
