//! Scripts by name: a Lua script's keys and arguments are declared once, by name, beside the
//! Rust that runs it ([`script!`]); Rust fills a struct of those names and the script reads
//! `K.<name>` and `A.<name>`. The wire stays what Redis takes (`KEYS` and `ARGV`, in the
//! declared order: Redis Cluster needs every key declared), but no side counts positions. Four
//! scripts of a board's projections (`copy`, `fold`, `swap`, `snapshot`) still build further
//! keys of that board from a prefix argument (same slot; docs/deployment.md lists what that
//! costs on a cluster).
//!
//! The prelude the macro puts before the script (`lua/named.lua`, kept short: it is sent with
//! every call) refuses a call with other counts than the script declares (fewer only, for a
//! script that takes `more` after its names), and makes a name that was not declared an error of
//! the script when it is read. Each declared script also gets a
//! unit test that reads its Lua for every `K.<name>` and `A.<name>` and fails on one that is not
//! declared, or on a name Lua cannot take as a field (`end`, `then`, …): a typo fails the build's
//! tests, not a rare branch in production. A script answers its outcome by name too: its
//! reply's first element is a word (`applied`, `conflict`, …), which the Rust beside it turns
//! into a typed answer in one `match`.

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

impl From<&[u8]> for Arg {
    fn from(b: &[u8]) -> Self {
        Self(b.to_vec())
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
///
/// A script whose keys or arguments are not all known in advance (a batch's keys, a close's
/// moves) names the fixed ones, then `; more <name>`: `Keys::<name>` (`Args::<name>`) is a `Vec`
/// sent after them, which the script reads from `KEYS[K_MORE]` (`ARGV[A_MORE]`) on, and the
/// prelude refuses fewer than it names but not more.
macro_rules! script {
    (
        $(#[$doc:meta])*
        mod $name:ident = $body:expr;
        keys {
            $($(#[$kdoc:meta])* $key:ident),* $(,)?
            $(; $(#[$mdoc:meta])* more $more:ident $(,)?)?
        }
        args {
            $($(#[$adoc:meta])* $arg:ident),* $(,)?
            $(; $(#[$amdoc:meta])* more $amore:ident $(,)?)?
        }
    ) => {
        $(#[$doc])*
        pub(crate) mod $name {
            /// The script's keys by name (sent as `KEYS`, in this order).
            pub(crate) struct Keys {
                $($(#[$kdoc])* pub(crate) $key: String,)*
                $($(#[$mdoc])* pub(crate) $more: Vec<String>,)?
            }
            /// The script's arguments by name (sent as `ARGV`, in this order).
            pub(crate) struct Args {
                $($(#[$adoc])* pub(crate) $arg: $crate::repo::script::Arg,)*
                $($(#[$amdoc])* pub(crate) $amore: Vec<$crate::repo::script::Arg>,)?
            }
            /// The script's name (in errors).
            pub(crate) const NAME: &str = stringify!($name);
            /// The keys' names, in order.
            #[allow(dead_code)]
            pub(crate) const KEY_NAMES: &[&str] = &[$(stringify!($key)),*];
            /// The arguments' names, in order.
            #[allow(dead_code)]
            pub(crate) const ARG_NAMES: &[&str] = &[$(stringify!($arg)),*];
            /// The script as sent: the prelude, its names, then its body.
            pub(crate) const LUA: &str = concat!(
                include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/src/repo/lua/named.lua")),
                "local K", $($crate::repo::script::with_more!($more, ", K_MORE"),)?
                " = named('key', KEYS, 0", $($crate::repo::script::plus_one!($key),)*
                $($crate::repo::script::with_more!($more, ", true"),)? ")\n",
                $("K.", stringify!($key), ", ",)* "_ = unpack(KEYS",
                $($crate::repo::script::with_more!($more, ", 1, K_MORE - 1"),)? ")\n",
                "local A", $($crate::repo::script::with_more!($amore, ", A_MORE"),)?
                " = named('argument', ARGV, 0", $($crate::repo::script::plus_one!($arg),)*
                $($crate::repo::script::with_more!($amore, ", true"),)? ")\n",
                $("A.", stringify!($arg), ", ",)* "_ = unpack(ARGV",
                $($crate::repo::script::with_more!($amore, ", 1, A_MORE - 1"),)? ")\n",
                $body
            );
            /// The script as an integration test runs it itself (feature `testing`).
            #[cfg(feature = "testing")]
            #[allow(dead_code)]
            pub(crate) fn named() -> $crate::repo::script::Named {
                $crate::repo::script::Named {
                    lua: LUA,
                    keys: KEY_NAMES,
                    args: ARG_NAMES,
                    more: $crate::repo::script::takes_more!($($more)?),
                }
            }
            #[cfg(test)]
            #[test]
            fn its_lua_reads_only_the_names_it_declares() {
                $crate::repo::script::check_names(LUA, KEY_NAMES, ARG_NAMES);
            }
            /// Runs the script with these keys and arguments.
            pub(crate) async fn run(
                repo: &$crate::repo::Repo,
                keys: Keys,
                args: Args,
            ) -> leaderboard::Result<Vec<$crate::repo::RedisResult>> {
                #[allow(unused_mut)]
                let mut all = vec![$(keys.$key),*];
                $(all.extend(keys.$more);)?
                #[allow(unused_mut)]
                let mut params = vec![$(args.$arg.into_param()),*];
                $(params.extend(args.$amore.into_iter().map($crate::repo::script::Arg::into_param));)?
                repo.eval(LUA, &all, params).await
            }
        }
    };
}
pub(crate) use script;

/// `$text` where a script declares `more` keys or arguments: the prelude's `, true` (it then
/// refuses fewer only) and the local that says where the rest begins (`K_MORE`, `A_MORE`).
macro_rules! with_more {
    ($more:ident, $text:literal) => {
        $text
    };
}
pub(crate) use with_more;

/// Whether a script declares `more` keys (`takes_more!()` is false, `takes_more!(name)` true).
#[cfg(feature = "testing")]
macro_rules! takes_more {
    () => {
        false
    };
    ($more:ident) => {
        true
    };
}
#[cfg(feature = "testing")]
pub(crate) use takes_more;

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
    /// Whether it takes more keys than it names (after them).
    pub more: bool,
}

#[cfg(feature = "testing")]
impl Named {
    /// `EVAL`'s parameters after the script: the key count, the keys, the arguments. A key not
    /// in `keys` is `unused` (as the app passes a key a call does not use); every argument must
    /// be given. Panics on a name the script does not declare and on a missing argument (a
    /// test's mistake).
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

/// Lua's reserved words: none can be a name (`A.end` does not parse).
#[cfg(test)]
const LUA_WORDS: &[&str] = &[
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "if", "in", "local",
    "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
];

/// Fails when `lua` reads a `K.<name>` or `A.<name>` that is not declared, or when a declared
/// name is a word of Lua (the test [`script!`] gives each script).
#[cfg(test)]
pub(crate) fn check_names(lua: &str, keys: &[&str], args: &[&str]) {
    for name in keys.iter().chain(args) {
        assert!(
            !LUA_WORDS.contains(name),
            "{name} is a word of Lua: the script could not read it as a field"
        );
    }
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    for (table, declared) in [("K.", keys), ("A.", args)] {
        for (at, _) in lua.match_indices(table) {
            // `K.` ending a longer name (`OK.`) is not the table.
            if lua[..at].chars().next_back().is_some_and(ident) {
                continue;
            }
            let name: String = lua[at + 2..].chars().take_while(|c| ident(*c)).collect();
            assert!(
                name.is_empty() || declared.contains(&name.as_str()),
                "the script reads {table}{name}, which it does not declare"
            );
        }
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

/// The rest of a reply whose only answer is `word` (a read's `page`, `entries`, …): any other
/// word is damaged data, naming `script` ([`unexpected`]).
pub(crate) fn answer_of<'r>(
    reply: &'r [crate::repo::RedisResult],
    script: &str,
    word: &str,
) -> leaderboard::Result<&'r [crate::repo::RedisResult]> {
    let (said, rest) = answer(reply)?;
    if said == word {
        Ok(rest)
    } else {
        Err(unexpected(script, &said, rest))
    }
}

/// What a script's answer `word` (with `rest`) is when its caller does not know it: damaged
/// data, naming the script (`NAME` of its [`script!`] module).
pub(crate) fn unexpected(
    script: &str,
    word: &str,
    rest: &[crate::repo::RedisResult],
) -> leaderboard::LeaderboardError {
    leaderboard::LeaderboardError::CorruptData(format!(
        "the script {script} answered {word:?} {rest:?}"
    ))
}

/// A script's reply element as Redis answers a Lua string: what the tests of the answers'
/// mappings build replies from.
#[cfg(test)]
pub(crate) fn reply_text(s: &str) -> crate::repo::RedisResult {
    crate::repo::RedisResult::Binary(s.as_bytes().to_vec())
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

    script! {
        /// A script of the tests that takes more than it names.
        mod probe_more = "return {K.first, KEYS[K_MORE], A.second, ARGV[A_MORE]}";
        keys { /// One.
               first;
               /// The rest.
               more rest }
        args { /// Two.
               second;
               /// The rest.
               more others }
    }

    #[test]
    fn a_reply_of_one_answer_gives_its_rest_or_names_the_script() {
        let reply = [reply_text("page"), reply_text("7")];
        assert_eq!(answer_of(&reply, "scan", "page").ok(), Some(&reply[1..]));
        let other = [reply_text("board_gone")];
        assert!(matches!(
            answer_of(&other, "scan", "page"),
            Err(leaderboard::LeaderboardError::CorruptData(m)) if m.contains("scan") && m.contains("board_gone")
        ));
        assert!(answer_of(&[], "scan", "page").is_err());
    }

    #[test]
    fn a_script_that_takes_more_says_where_the_rest_begins() {
        assert!(probe_more::LUA.contains(
            "local K, K_MORE = named('key', KEYS, 0 + 1, true)\nK.first, _ = unpack(KEYS, 1, K_MORE - 1)\n"
        ));
        assert!(probe_more::LUA.contains(
            "local A, A_MORE = named('argument', ARGV, 0 + 1, true)\nA.second, _ = unpack(ARGV, 1, A_MORE - 1)\n"
        ));
        assert!(probe::LUA.contains("local A = named('argument', ARGV, 0 + 1 + 1)\n"));
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
    #[should_panic(expected = "reads A.fourth, which it does not declare")]
    fn a_name_the_script_does_not_declare_fails_its_test() {
        check_names(
            "return {K.first, A.fourth}",
            probe::KEY_NAMES,
            probe::ARG_NAMES,
        );
    }

    #[test]
    #[should_panic(expected = "end is a word of Lua")]
    fn a_word_of_lua_is_no_name() {
        check_names("return {}", &["end"], &[]);
    }

    #[test]
    fn arguments_are_the_bytes_redis_takes() {
        assert_eq!(Arg::from(-5i64), Arg::from("-5"));
        assert_eq!(Arg::flag(true), Arg::from("1"));
        assert_eq!(Arg::flag(false), Arg::from("0"));
        assert_eq!(Arg::from(String::from("x")), Arg::from("x"));
    }
}
