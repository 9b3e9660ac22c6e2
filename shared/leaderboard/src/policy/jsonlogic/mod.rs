//! JsonLogic as flagd evaluates targeting rules: the operators flagd's schema allows, with the
//! semantics of the reference in-process evaluator (`@openfeature/flagd-core` on
//! `json-logic-engine` 5, compiled mode), checked against it differentially
//! (`tests/jsonlogic_reference.rs`).
//!
//! Why our own and not a crate: the JsonLogic crates that build for `wasm32-wasip2` carry their
//! own value model, an arena and dozens of operators flagd does not allow (datalogic-rs was about
//! 800 KB of the flags component's code). This evaluator works on `serde_json::Value`, which the
//! component already links, and is a few kilobytes. MurmurHash3 comes from the `murmur3` crate and
//! version parsing from `semver`.
//!
//! Operators: `var`, `missing`, `missing_some`; `if` (`?:`), `or`, `and`, `!`, `!!`; `==`, `===`,
//! `!=`, `!==`, `<`, `<=`, `>`, `>=` (three arguments: between); `+`, `-`, `*`, `/`, `%`, `min`,
//! `max`; `map`, `filter`, `reduce`, `all`, `some`, `none`, `merge`, `in`; `cat`, `substr`; and
//! flagd's `fractional`, `sem_ver`, `starts_with`, `ends_with`.
//!
//! Semantics worth knowing (all as the reference does them):
//! - Truthiness is JavaScript's, except that an empty array is false.
//! - Comparisons coerce like JavaScript but refuse what cannot be a number: comparing a number
//!   with `"abc"`, an array or an object is an error, not `false`; `null` compares equal to
//!   `0`, `false` and `""`.
//! - Arithmetic coerces strings, booleans and `null` to numbers; a result that is not a number
//!   (`"abc" + 1`, a division by zero) is an error.
//! - `var` gives the default (or `null`) for a missing path and for a `null` value; paths are
//!   dotted (`\.` escapes a dot), and index arrays and strings. `missing` counts only absent
//!   keys (a `null` value is present).
//! - `cat` writes `null` as `"null"` and numbers as JavaScript does.
//! - Two lists or objects are never equal (`==`, `===`): JavaScript compares their identity,
//!   which JSON values do not have. (The reference finds a list read twice from the same place of
//!   the context equal to itself; we do not.)
//! - `all` over an empty array is `false`; `fractional`, `sem_ver`, `starts_with` and
//!   `ends_with` give `null` for arguments they cannot use.
//!
//! Where the reference's compiler departs from its own interpreter, we follow the compiler (it is
//! what flagd-core runs): a literal key of `var` or of `missing` reads differently from a computed
//! one. The branches of an `if` with fewer than three arguments, which it interprets, we evaluate
//! like the rest. Two of its compiler's bugs we do
//! not copy: `cat` of an `or`, `and`, `all`, `missing` or `missing_some` (missing parentheses
//! make them swallow the rest of the concatenation), and parts of a rule that read no context,
//! which it computes ahead with its interpreter's slightly different coercions. Arithmetic on a
//! literal that is not a number, or a division by a literal zero, is refused when the rule is
//! stored, as the reference refuses to compile it.
//!
//! Not supported, on purpose: `../` paths to an enclosing iteration's data (not in flagd's
//! schema), and `log`. Fractional bucketing hashes the key's UTF-8 bytes, as flagd (Go) and the
//! flagd specification do (the JavaScript reference hashes UTF-16 code units, which is the same
//! for ASCII keys).
//!
//! Bounds: an evaluation may take at most [`MAX_STEPS`] steps, build strings of at most
//! [`MAX_STRING`] bytes and arrays of at most [`MAX_ARRAY`] elements; beyond, it fails.

use serde_json::{Map, Value};

mod coerce;
mod eval;
mod flagd;
mod path;

use coerce::string_to_number;
pub use coerce::{to_js_string, truthy};
use eval::Eval;

/// The most operations one evaluation may run.
pub const MAX_STEPS: u32 = 100_000;
/// The longest string an evaluation may build (bytes).
pub const MAX_STRING: usize = 1 << 16;
/// The longest array an evaluation may build.
pub const MAX_ARRAY: usize = 1 << 15;

/// Why a rule could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// An object with one key that is not an operator.
    #[error("unknown operator '{0}'")]
    UnknownOperator(String),
    /// An object with no key or more than one: neither data nor an operation.
    #[error("an operation is an object with exactly one key (the operator), not {0}")]
    NotAnOperation(usize),
    /// The operator cannot work on what it was given.
    #[error("'{op}': {why}")]
    InvalidArguments {
        /// The operator.
        op: &'static str,
        /// What was wrong.
        why: &'static str,
    },
    /// The result is not a number (JavaScript's NaN).
    #[error("'{0}': the result is not a number")]
    NotANumber(&'static str),
    /// The evaluation ran out of steps or built something too large.
    #[error("the rule needs more than the allowed {0}")]
    TooCostly(&'static str),
}

type Result<T> = std::result::Result<T, Error>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Var,
    Missing,
    MissingSome,
    If,
    Or,
    And,
    Not,
    NotNot,
    Eq,
    StrictEq,
    Ne,
    StrictNe,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Min,
    Max,
    Map,
    Filter,
    Reduce,
    All,
    Some,
    None,
    Merge,
    In,
    Cat,
    Substr,
    Fractional,
    SemVer,
    StartsWith,
    EndsWith,
}

impl Op {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "var" => Self::Var,
            "missing" => Self::Missing,
            "missing_some" => Self::MissingSome,
            "if" | "?:" => Self::If,
            "or" => Self::Or,
            "and" => Self::And,
            "!" => Self::Not,
            "!!" => Self::NotNot,
            "==" => Self::Eq,
            "===" => Self::StrictEq,
            "!=" => Self::Ne,
            "!==" => Self::StrictNe,
            "<" => Self::Lt,
            "<=" => Self::Le,
            ">" => Self::Gt,
            ">=" => Self::Ge,
            "+" => Self::Add,
            "-" => Self::Sub,
            "*" => Self::Mul,
            "/" => Self::Div,
            "%" => Self::Mod,
            "min" => Self::Min,
            "max" => Self::Max,
            "map" => Self::Map,
            "filter" => Self::Filter,
            "reduce" => Self::Reduce,
            "all" => Self::All,
            "some" => Self::Some,
            "none" => Self::None,
            "merge" => Self::Merge,
            "in" => Self::In,
            "cat" => Self::Cat,
            "substr" => Self::Substr,
            "fractional" => Self::Fractional,
            "sem_ver" => Self::SemVer,
            "starts_with" => Self::StartsWith,
            "ends_with" => Self::EndsWith,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Var => "var",
            Self::Missing => "missing",
            Self::MissingSome => "missing_some",
            Self::If => "if",
            Self::Or => "or",
            Self::And => "and",
            Self::Not => "!",
            Self::NotNot => "!!",
            Self::Eq => "==",
            Self::StrictEq => "===",
            Self::Ne => "!=",
            Self::StrictNe => "!==",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Add => "+",
            Self::Sub => "-",
            Self::Mul => "*",
            Self::Div => "/",
            Self::Mod => "%",
            Self::Min => "min",
            Self::Max => "max",
            Self::Map => "map",
            Self::Filter => "filter",
            Self::Reduce => "reduce",
            Self::All => "all",
            Self::Some => "some",
            Self::None => "none",
            Self::Merge => "merge",
            Self::In => "in",
            Self::Cat => "cat",
            Self::Substr => "substr",
            Self::Fractional => "fractional",
            Self::SemVer => "sem_ver",
            Self::StartsWith => "starts_with",
            Self::EndsWith => "ends_with",
        }
    }
}

/// Checks that every operation in `rule` is one object key naming a known operator, so a stored
/// rule never fails for its shape.
pub fn validate(rule: &Value) -> Result<()> {
    match rule {
        Value::Object(m) => {
            let (name, args) = operation(m)?;
            let op = Op::parse(name).ok_or_else(|| Error::UnknownOperator(name.to_string()))?;
            literal_operands(op, args)?;
            validate(args)
        }
        Value::Array(a) => a.iter().try_for_each(validate),
        _ => Ok(()),
    }
}

/// Evaluates `rule` over `data`.
pub fn apply(rule: &Value, data: &Value) -> Result<Value> {
    Eval::new().eval(rule, data)
}

/// Arithmetic on a literal that is not a number (`"abc"`, a list), or a division by a literal
/// zero, can never succeed: it is refused with the rule, as the reference refuses to compile it.
fn literal_operands(op: Op, args: &Value) -> Result<()> {
    if !matches!(op, Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Mod) {
        return Ok(());
    }
    let list = match args {
        Value::Array(a) => a.as_slice(),
        Value::Object(_) => return Ok(()),
        one => std::slice::from_ref(one),
    };
    for (i, arg) in list.iter().enumerate() {
        let n = match arg {
            Value::Array(_) => f64::NAN,
            Value::String(s) => string_to_number(s),
            Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
            _ => continue,
        };
        let divisor = op == Op::Div && (i > 0 || list.len() == 1);
        if n.is_nan() || (divisor && n == 0.0) {
            return Err(Error::NotANumber(op.name()));
        }
    }
    Ok(())
}

fn operation(m: &Map<String, Value>) -> Result<(&str, &Value)> {
    match m.iter().next() {
        Some((k, v)) if m.len() == 1 => Ok((k.as_str(), v)),
        _ => Err(Error::NotAnOperation(m.len())),
    }
}

fn invalid(op: Op, why: &'static str) -> Error {
    Error::InvalidArguments { op: op.name(), why }
}

/// An operator's arguments, evaluated: a list, or the one value written without a list.
enum Args {
    List(Vec<Value>),
    One(Value),
}

impl Args {
    fn into_list(self) -> Vec<Value> {
        match self {
            Self::List(l) => l,
            Self::One(v) => vec![v],
        }
    }
}

#[cfg(test)]
mod tests;
