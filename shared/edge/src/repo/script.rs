//! Scripts by name: a Lua script's keys and arguments are declared once, by name, beside the
//! Rust that runs it ([`script!`]); Rust fills a struct of those names and the script reads
//! `K.<name>` and `A.<name>`. The wire stays what Redis takes (`KEYS` and `ARGV`, in the
//! declared order: Redis Cluster needs every key declared), but no side counts positions.
//!
//! The prelude the macro puts before the script checks the counts and makes a name that was
//! not declared an error of the script (a typo fails its first call, it does not read `nil`).
//! A script answers its outcome by name too: its reply's first element is a word
//! (`applied`, `conflict`, …), which the Rust beside it turns into a typed answer in one
//! `match`.

use crate::repo::RedisParameter;

/// One argument of a named script, as Redis takes it (bytes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Arg(Vec<u8>);

impl Arg {
    /// The parameter sent.
    pub(crate) fn into_param(self) -> RedisParameter {
        RedisParameter::Binary(self.0)
    }
    /// `'1'` or `'0'`: the flags scripts test with `== '1'`.
    pub(crate) fn flag(on: bool) -> Self {
        Self(if on { b"1".to_vec() } else { b"0".to_vec() })
    }
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Self(s.as_bytes().to_vec())
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Self(s.into_bytes())
    }
}

macro_rules! arg_from_number {
    ($($t:ty),*) => {
        $(impl From<$t> for Arg {
            fn from(n: $t) -> Self {
                Self(n.to_string().into_bytes())
            }
        })*
    };
}
arg_from_number!(i64, u64, u32, usize);

/// Declares a Lua script with named keys and arguments: a module `$name` holding `Keys` and
/// `Args` (a field per name, each documented where it is declared), `LUA` (the prelude, the
/// names in order, then the script) and `run`, which sends them in the declared order.
///
/// ```ignore
/// crate::repo::script! {
///     /// What the script does.
///     mod bump = include_str!("lua/bump.lua");
///     keys { /// The counter.
///            counter }
///     args { /// By how much.
///            by }
/// }
/// // In the script: redis.call('INCRBY', K.counter, A.by)
/// ```
macro_rules! script {
    (
        $(#[$doc:meta])*
        mod $name:ident = $body:expr;
        keys { $($(#[$kdoc:meta])* $key:ident),* $(,)? }
        args { $($(#[$adoc:meta])* $arg:ident),* $(,)? }
    ) => {
        $(#[$doc])*
        pub(crate) mod $name {
            /// The script's keys by name (sent as `KEYS`, in this order).
            pub(crate) struct Keys {
                $($(#[$kdoc])* pub(crate) $key: String,)*
            }
            /// The script's arguments by name (sent as `ARGV`, in this order).
            pub(crate) struct Args {
                $($(#[$adoc])* pub(crate) $arg: $crate::repo::script::Arg,)*
            }
            /// The keys' names, in order.
            #[allow(dead_code)]
            pub(crate) const KEY_NAMES: &[&str] = &[$(stringify!($key)),*];
            /// The arguments' names, in order.
            #[allow(dead_code)]
            pub(crate) const ARG_NAMES: &[&str] = &[$(stringify!($arg)),*];
            /// The script as sent: the prelude, its names, then its body.
            pub(crate) const LUA: &str = concat!(
                include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/src/repo/lua/named.lua")),
                "local K = named('key', KEYS, 0", $($crate::repo::script::plus_one!($key),)* ")\n",
                $("K.", stringify!($key), ", ",)* "_ = unpack(KEYS)\n",
                "local A = named('argument', ARGV, 0", $($crate::repo::script::plus_one!($arg),)* ")\n",
                $("A.", stringify!($arg), ", ",)* "_ = unpack(ARGV)\n",
                $body
            );
            /// Runs the script with these keys and arguments.
            pub(crate) async fn run(
                repo: &$crate::repo::Repo,
                keys: Keys,
                args: Args,
            ) -> leaderboard::Result<Vec<$crate::repo::RedisResult>> {
                repo.eval(
                    LUA,
                    &[$(keys.$key),*],
                    vec![$(args.$arg.into_param()),*],
                )
                .await
            }
        }
    };
}
pub(crate) use script;

/// `" + 1"` for each name: how [`script!`] counts its names in the Lua it writes.
macro_rules! plus_one {
    ($name:ident) => {
        " + 1"
    };
}
pub(crate) use plus_one;

/// A named script as an integration test runs it itself (feature `testing`): its text and its
/// names, so that the test passes keys and arguments by name too.
#[cfg(feature = "testing")]
pub struct Named {
    /// The script as the app sends it.
    pub lua: &'static str,
    /// Its keys' names, in order.
    pub keys: &'static [&'static str],
    /// Its arguments' names, in order.
    pub args: &'static [&'static str],
}

#[cfg(feature = "testing")]
impl Named {
    /// `EVAL`'s parameters after the script: the key count, the keys, the arguments. A key not
    /// in `keys` is `unused`, an argument not in `args` is empty. Panics on a name the script
    /// does not declare (a test's mistake).
    pub fn params(
        &self,
        keys: &[(&str, String)],
        unused: &str,
        args: &[(&str, String)],
    ) -> Vec<String> {
        for (name, _) in keys {
            assert!(self.keys.contains(name), "the script names no key {name}");
        }
        for (name, _) in args {
            assert!(
                self.args.contains(name),
                "the script names no argument {name}"
            );
        }
        let pick = |given: &[(&str, String)], name: &str, default: &str| {
            given
                .iter()
                .find(|(n, _)| *n == name)
                .map_or_else(|| default.to_string(), |(_, v)| v.clone())
        };
        let mut out = vec![self.keys.len().to_string()];
        out.extend(self.keys.iter().map(|n| pick(keys, n, unused)));
        out.extend(self.args.iter().map(|n| pick(args, n, "")));
        out
    }
}

/// A script's answer word (its reply's first element).
pub(crate) fn answer(
    reply: &[crate::repo::RedisResult],
) -> leaderboard::Result<(String, &[crate::repo::RedisResult])> {
    match reply.split_first() {
        Some((word, rest)) => Ok((crate::repo::text(word)?, rest)),
        None => Err(leaderboard::LeaderboardError::CorruptData(
            "a script answered nothing".into(),
        )),
    }
}

#[cfg(test)]
#[allow(dead_code)]
mod tests {
    use super::*;

    script! {
        /// A script of the tests.
        mod probe = "return {K.first, A.second}";
        keys { /// One.
               first }
        args { /// Two.
               second, third }
    }

    #[test]
    fn the_script_names_its_keys_and_arguments_in_order() {
        assert!(probe::LUA.starts_with(include_str!("lua/named.lua")));
        assert!(
            probe::LUA.contains("local K = named('key', KEYS, 0 + 1)\nK.first, _ = unpack(KEYS)\n")
        );
        assert!(probe::LUA.contains(
            "local A = named('argument', ARGV, 0 + 1 + 1)\nA.second, A.third, _ = unpack(ARGV)\n"
        ));
        assert!(probe::LUA.ends_with("return {K.first, A.second}"));
    }

    #[test]
    fn arguments_are_the_bytes_redis_takes() {
        assert_eq!(Arg::from(-5i64), Arg::from("-5"));
        assert_eq!(Arg::flag(true), Arg::from("1"));
        assert_eq!(Arg::flag(false), Arg::from("0"));
        assert_eq!(Arg::from(String::from("x")), Arg::from("x"));
    }
}
