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

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::{Map, Number, Value};

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
    Eval {
        steps: 0,
        prev: Value::Null,
    }
    .eval(rule, data)
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

/// An evaluation. `prev` mirrors the one scratch variable of the reference's compiled rule: its
/// comparisons check the right-hand side against the last value any inner `var`, `or`, `and`,
/// comparison, `all` or unary `+`/`-`/`/` stored there (usually the left-hand side, but not
/// when the right-hand side reads the context), and that decides whether a mixed comparison is
/// an error. Iteration bodies are functions of their own, with their own.
struct Eval {
    steps: u32,
    prev: Value,
}

impl Eval {
    fn eval(&mut self, rule: &Value, data: &Value) -> Result<Value> {
        match rule {
            Value::Object(m) => {
                self.steps += 1;
                if self.steps > MAX_STEPS {
                    return Err(Error::TooCostly("number of steps"));
                }
                let (name, args) = operation(m)?;
                let op = Op::parse(name).ok_or_else(|| Error::UnknownOperator(name.to_string()))?;
                self.op(op, args, data)
            }
            Value::Array(a) => a
                .iter()
                .map(|r| self.eval(r, data))
                .collect::<Result<_>>()
                .map(Value::Array),
            other => Ok(other.clone()),
        }
    }

    /// The evaluated arguments: a list for an array of arguments, else the one value.
    fn args(&mut self, args: &Value, data: &Value) -> Result<Args> {
        match args {
            Value::Array(a) => a
                .iter()
                .map(|r| self.eval(r, data))
                .collect::<Result<_>>()
                .map(Args::List),
            other => self.eval(other, data).map(Args::One),
        }
    }

    /// Evaluates `rule` as a function of its own (an iteration body, or the reference's
    /// interpreter): the caller's `prev` is untouched.
    fn eval_apart(&mut self, rule: &Value, data: &Value) -> Result<Value> {
        let saved = std::mem::take(&mut self.prev);
        let r = self.eval(rule, data);
        self.prev = saved;
        r
    }

    fn op(&mut self, op: Op, raw: &Value, data: &Value) -> Result<Value> {
        match op {
            Op::Var => self.var(raw, data),
            Op::If => self.if_(raw, data),
            Op::Or | Op::And => {
                let Value::Array(items) = raw else {
                    return Err(invalid(op, "needs an array of arguments"));
                };
                let mut last = Value::Null;
                for item in items {
                    last = self.eval(item, data)?;
                    self.prev = last.clone();
                    if truthy(&last) == (op == Op::Or) {
                        break;
                    }
                }
                Ok(last)
            }
            Op::In => {
                let Value::Array(a) = raw else {
                    let args = self.args(raw, data)?;
                    return eager(op, args, data);
                };
                // The reference reads the haystack first.
                let hay = match a.get(1) {
                    Some(r) => self.eval(r, data)?,
                    None => Value::Null,
                };
                let needle = match a.first() {
                    Some(r) => self.eval(r, data)?,
                    None => Value::Null,
                };
                eager(op, Args::List(vec![needle, hay]), data)
            }
            Op::Add | Op::Sub | Op::Div if raw.is_object() => {
                let v = self.eval(raw, data)?;
                self.prev = v.clone();
                arithmetic(op, Args::One(v))
            }
            Op::Missing => {
                if let Some(keys) = raw.as_array().filter(|k| compiled_keys(k)) {
                    return Ok(Value::Array(missing(keys, data, true)));
                }
                let args = self.args(raw, data)?;
                eager(op, args, data)
            }
            Op::MissingSome => {
                let args = self.args(raw, data)?.into_list();
                let (Some(need), Some(Value::Array(keys))) = (args.first(), args.get(1)) else {
                    return Err(invalid(op, "needs [count, [keys]]"));
                };
                let literal = raw.get(1).and_then(Value::as_array);
                let absent = missing(keys, data, literal.is_some_and(|k| compiled_keys(k)));
                let found = (keys.len() - absent.len()) as f64;
                let r = Value::Array(if found >= to_number(need) {
                    Vec::new()
                } else {
                    absent
                });
                if literal.is_some() {
                    self.prev = r.clone();
                }
                Ok(r)
            }
            Op::Eq | Op::StrictEq | Op::Ne | Op::StrictNe | Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                self.compare(op, raw, data)
            }
            Op::Map | Op::Filter | Op::All | Op::Some | Op::None => self.iterate(op, raw, data),
            Op::Reduce => self.reduce(raw, data),
            _ => {
                let args = self.args(raw, data)?;
                eager(op, args, data)
            }
        }
    }

    fn if_(&mut self, raw: &Value, data: &Value) -> Result<Value> {
        let Value::Array(a) = raw else {
            return Err(invalid(Op::If, "needs an array of arguments"));
        };
        match a.len() {
            0 => return Ok(Value::Null),
            1 => return self.eval_apart(&a[0], data),
            2 => {
                return if truthy(&self.eval_apart(&a[0], data)?) {
                    self.eval_apart(&a[1], data)
                } else {
                    Ok(Value::Null)
                };
            }
            _ => {}
        }
        let mut i = 0;
        while i + 1 < a.len() {
            if truthy(&self.eval(&a[i], data)?) {
                return self.eval(&a[i + 1], data);
            }
            i += 2;
        }
        match a.get(i) {
            Some(otherwise) => self.eval(otherwise, data),
            None => Ok(Value::Null),
        }
    }

    fn compare(&mut self, op: Op, raw: &Value, data: &Value) -> Result<Value> {
        let Value::Array(a) = raw else {
            return Err(invalid(op, "needs an array of at least two arguments"));
        };
        if a.len() < 2 {
            return Err(invalid(op, "needs an array of at least two arguments"));
        }
        let strict = matches!(op, Op::StrictEq | Op::StrictNe);
        let first = self.eval(&a[0], data)?;
        self.prev = first.clone();
        let item = self.eval(&a[1], data)?;
        let cur = compare_check(op, item, &self.prev, strict)?;
        if a.len() == 2 {
            return Ok(Value::Bool(holds(op, &first, &cur)));
        }
        self.prev = cur.clone();
        if !holds(op, &first, &cur) {
            return Ok(Value::Bool(false));
        }
        for rule in &a[2..] {
            let left = self.prev.clone();
            let item = self.eval(rule, data)?;
            let cur = compare_check(op, item, &self.prev, strict)?;
            self.prev = cur.clone();
            if !holds(op, &left, &cur) {
                return Ok(Value::Bool(false));
            }
        }
        Ok(Value::Bool(true))
    }

    fn iterate(&mut self, op: Op, raw: &Value, data: &Value) -> Result<Value> {
        let Value::Array(a) = raw else {
            return Err(invalid(op, "needs an array: [items, rule]"));
        };
        let selector = match a.first() {
            Some(r) => self.eval(r, data)?,
            None => Value::Null,
        };
        if op == Op::All {
            self.prev = selector.clone();
            if selector.as_array().is_some_and(Vec::is_empty) {
                return Ok(Value::Bool(false));
            }
        }
        let items = items(op, selector)?;
        let mapper = a.get(1).unwrap_or(&Value::Null);
        let mut out = Vec::new();
        for item in items {
            let r = self.eval_apart(mapper, &item)?;
            match op {
                Op::Map => out.push(r),
                Op::Filter if truthy(&r) => out.push(item),
                Op::Filter => {}
                Op::All if !truthy(&r) => return Ok(Value::Bool(false)),
                Op::Some if truthy(&r) => return Ok(Value::Bool(true)),
                Op::None if truthy(&r) => return Ok(Value::Bool(false)),
                _ => {}
            }
        }
        Ok(match op {
            Op::Map | Op::Filter => Value::Array(out),
            Op::All | Op::None => Value::Bool(true),
            _ => Value::Bool(false),
        })
    }

    fn reduce(&mut self, raw: &Value, data: &Value) -> Result<Value> {
        let Value::Array(a) = raw else {
            return Err(invalid(
                Op::Reduce,
                "needs an array: [items, rule, initial]",
            ));
        };
        let selector = match a.first() {
            Some(r) => self.eval(r, data)?,
            None => Value::Null,
        };
        let mapper = a.get(1).unwrap_or(&Value::Null);
        let initial = a.get(2).map(|r| self.eval(r, data)).transpose()?;
        let mut items = items(Op::Reduce, selector)?.into_iter();
        if let Some(init) = &initial {
            flat(init)?;
        }
        let Some(mut acc) = initial.or_else(|| items.next()) else {
            return Err(invalid(
                Op::Reduce,
                "an empty array without an initial value",
            ));
        };
        for current in items {
            let mut ctx = Map::new();
            ctx.insert("accumulator".into(), acc);
            ctx.insert("current".into(), current);
            acc = self.eval_apart(mapper, &Value::Object(ctx))?;
            flat(&acc)?;
        }
        Ok(acc)
    }
}

/// A `reduce` accumulator may be a list or an object, but not one that nests others (the
/// reference's `maxDepth` of 0): that keeps an accumulation from growing into a tree.
fn flat(v: &Value) -> Result<()> {
    let nested = |x: &Value| matches!(x, Value::Array(_) | Value::Object(_));
    let deep = match v {
        Value::Array(a) => a.iter().any(nested),
        Value::Object(m) => m.values().any(nested),
        _ => false,
    };
    if deep {
        Err(invalid(
            Op::Reduce,
            "the accumulator nests lists or objects",
        ))
    } else {
        Ok(())
    }
}

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

/// What an iterating operator runs over: an array, or nothing for a falsy value.
fn items(op: Op, selector: Value) -> Result<Vec<Value>> {
    match selector {
        Value::Array(a) => Ok(a),
        v if !js_truthy(&v) => Ok(Vec::new()),
        _ => Err(invalid(op, "the items are not an array")),
    }
}

fn eager(op: Op, args: Args, data: &Value) -> Result<Value> {
    match op {
        Op::Missing => Ok(Value::Array(missing(&args.into_list(), data, false))),
        Op::Not | Op::NotNot => {
            let v = match args {
                Args::List(l) => l.into_iter().next().unwrap_or(Value::Null),
                Args::One(v) => v,
            };
            Ok(Value::Bool(truthy(&v) == (op == Op::NotNot)))
        }
        Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Mod => arithmetic(op, args),
        Op::Min | Op::Max => {
            let list = match args {
                Args::List(l) | Args::One(Value::Array(l)) => l,
                Args::One(_) => return Err(invalid(op, "needs numbers")),
            };
            let mut best: Option<f64> = None;
            for v in &list {
                let n = v.as_f64().ok_or_else(|| invalid(op, "needs numbers"))?;
                best = Some(match best {
                    Some(b) if (op == Op::Max && n <= b) || (op == Op::Min && n >= b) => b,
                    _ => n,
                });
            }
            best.map(number)
                .ok_or_else(|| invalid(op, "needs at least one number"))
        }
        Op::Merge => {
            let mut out = Vec::new();
            for v in args.into_list() {
                match v {
                    Value::Array(a) => out.extend(a),
                    other => out.push(other),
                }
            }
            if out.len() > MAX_ARRAY {
                return Err(Error::TooCostly("array length"));
            }
            Ok(Value::Array(out))
        }
        Op::In => {
            let Args::List(l) = args else {
                return Err(invalid(op, "needs [item, array or string]"));
            };
            let item = l.first().cloned().unwrap_or(Value::Null);
            match l.get(1).unwrap_or(&Value::Null) {
                v if !js_truthy(v) => Ok(Value::Bool(false)),
                Value::Array(a) => Ok(Value::Bool(a.iter().any(|x| strict_eq(x, &item)))),
                Value::String(s) => Ok(Value::Bool(s.contains(&to_js_string(&item)))),
                _ => Err(invalid(op, "the second argument is not an array or string")),
            }
        }
        Op::Cat => {
            let s = match args {
                Args::List(l) => l.iter().map(to_js_string).collect::<String>(),
                Args::One(Value::Null) => return Err(invalid(op, "null is not text")),
                Args::One(Value::Array(a)) => a
                    .iter()
                    .filter(|v| !v.is_null())
                    .map(to_js_string)
                    .collect(),
                Args::One(v) => to_js_string(&v),
            };
            if s.len() > MAX_STRING {
                return Err(Error::TooCostly("string length"));
            }
            Ok(Value::String(s))
        }
        Op::Substr => substr(args.into_list()),
        Op::Fractional => Ok(fractional(args, data)),
        Op::SemVer => Ok(sem_ver(args)),
        Op::StartsWith | Op::EndsWith => Ok(match args {
            Args::List(l) => match l.as_slice() {
                [Value::String(s), Value::String(affix)] => Value::Bool(if op == Op::StartsWith {
                    s.starts_with(affix.as_str())
                } else {
                    s.ends_with(affix.as_str())
                }),
                _ => Value::Null,
            },
            Args::One(_) => Value::Null,
        }),
        // The lazy operators never get here.
        _ => Err(invalid(op, "cannot be evaluated eagerly")),
    }
}

impl Eval {
    /// `var`: a literal key (a string, a number, or `[key, default]`) is read as the reference
    /// compiles it — a `null` value gives the default, and the value lands in `prev`; a computed
    /// key as its interpreter reads it — a `null` value stays `null`.
    fn var(&mut self, raw: &Value, data: &Value) -> Result<Value> {
        let literal = match raw {
            Value::String(_) | Value::Number(_) | Value::Null => Some((raw, None)),
            Value::Array(a) if a.len() <= 2 => Some((a.first().unwrap_or(&Value::Null), a.get(1))),
            _ => None,
        };
        match literal {
            Some((Value::Null, _)) => return Ok(data.clone()),
            Some((Value::String(k), _)) if k.is_empty() => return Ok(data.clone()),
            Some((key @ (Value::String(_) | Value::Number(_)), default)) => {
                let v = match lookup(data, &to_js_string(key)) {
                    Some(v) if !v.is_null() => v.into_owned(),
                    _ => match default {
                        Some(d) => self.eval(d, data)?,
                        None => Value::Null,
                    },
                };
                self.prev = v.clone();
                return Ok(v);
            }
            _ => {}
        }
        let (key, default) = match self.args(raw, data)? {
            Args::List(mut l) => {
                let default = if l.len() > 1 {
                    l.swap_remove(1)
                } else {
                    Value::Null
                };
                (l.into_iter().next().unwrap_or(Value::Null), default)
            }
            Args::One(k) => (k, Value::Null),
        };
        let key = match key {
            Value::Null => return Ok(data.clone()),
            Value::String(s) if s.is_empty() => return Ok(data.clone()),
            k => to_js_string(&k),
        };
        Ok(lookup(data, &key).map_or(default, Cow::into_owned))
    }
}

/// Splits a dotted path: `\.` is a dot inside a key, `\\` a backslash, `\/` a slash; the
/// empty path has no parts.
fn split_path(path: &str) -> Vec<String> {
    if path.is_empty() {
        return Vec::new();
    }
    let mut parts = vec![String::new()];
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        let cur = parts.last_mut();
        match (c, chars.peek()) {
            ('\\', Some(&next @ ('.' | '/' | '\\'))) => {
                chars.next();
                cur.into_iter().for_each(|p| p.push(next));
            }
            ('.', _) => parts.push(String::new()),
            (c, _) => cur.into_iter().for_each(|p| p.push(c)),
        }
    }
    parts
}

/// One step into a value as JavaScript indexes it: object keys, array and string indices and
/// their `length`.
fn step<'a>(v: &'a Value, key: &str) -> Option<Cow<'a, Value>> {
    match v {
        Value::Object(m) => m.get(key).map(Cow::Borrowed),
        Value::Array(a) if key == "length" => Some(Cow::Owned(Value::from(a.len()))),
        Value::Array(a) => index(key).and_then(|i| a.get(i)).map(Cow::Borrowed),
        Value::String(s) if key == "length" => {
            Some(Cow::Owned(Value::from(s.encode_utf16().count())))
        }
        Value::String(s) => index(key)
            .and_then(|i| s.chars().nth(i))
            .map(|c| Cow::Owned(Value::String(c.to_string()))),
        _ => None,
    }
}

fn index(key: &str) -> Option<usize> {
    let canonical =
        key == "0" || (!key.starts_with('0') && key.bytes().all(|b| b.is_ascii_digit()));
    canonical.then(|| key.parse().ok()).flatten()
}

fn lookup<'a>(data: &'a Value, path: &str) -> Option<Cow<'a, Value>> {
    let mut cur = Cow::Borrowed(data);
    for part in split_path(path) {
        if cur.is_null() {
            return None;
        }
        cur = match cur {
            Cow::Borrowed(v) => step(v, &part)?,
            Cow::Owned(v) => Cow::Owned(step(&v, &part)?.into_owned()),
        };
    }
    Some(cur)
}

/// Whether the reference compiles these `missing` keys into property reads: one or two literal
/// keys without a dot. Those read the key as it is (so `""` is a key, absent from most data);
/// other keys are paths (and `""` the data itself).
fn compiled_keys(keys: &[Value]) -> bool {
    (1..=2).contains(&keys.len())
        && keys
            .iter()
            .all(|k| k.as_str().is_some_and(|k| !k.contains('.')))
}

fn missing(keys: &[Value], data: &Value, compiled: bool) -> Vec<Value> {
    keys.iter()
        .filter(|k| {
            if compiled {
                return !js_truthy(data) || step(data, k.as_str().unwrap_or_default()).is_none();
            }
            let mut cur = Cow::Borrowed(data);
            for part in split_path(&to_js_string(k)) {
                if !js_truthy(&cur) {
                    return true;
                }
                cur = match cur {
                    Cow::Borrowed(v) => match step(v, &part) {
                        Some(next) => next,
                        None => return true,
                    },
                    Cow::Owned(v) => match step(&v, &part) {
                        Some(next) => Cow::Owned(next.into_owned()),
                        None => return true,
                    },
                };
            }
            false
        })
        .cloned()
        .collect()
}

/// A value as an arithmetic operand: arrays and objects are refused, the rest coerced.
fn operand(op: Op, v: &Value) -> Result<f64> {
    match v {
        Value::Array(_) | Value::Object(_) => Err(Error::NotANumber(op.name())),
        v => Ok(to_number(v)),
    }
}

fn arithmetic(op: Op, args: Args) -> Result<Value> {
    let list = match (op, args) {
        (_, Args::List(l) | Args::One(Value::Array(l))) => l,
        (Op::Add | Op::Sub, Args::One(v)) => vec![v],
        (_, Args::One(_)) => return Err(invalid(op, "needs an array of numbers")),
    };
    let nums = list
        .iter()
        .map(|v| operand(op, v))
        .collect::<Result<Vec<f64>>>()?;
    let result = match (op, nums.as_slice()) {
        (Op::Add, ns) => ns.iter().sum(),
        (Op::Mul, ns) => ns.iter().product(),
        (Op::Sub, []) | (Op::Div, []) => return Err(invalid(op, "needs at least one number")),
        (Op::Sub, [n]) => -n,
        (Op::Sub, [first, rest @ ..]) => rest.iter().fold(*first, |a, b| a - b),
        (Op::Div, ns) => {
            let (first, rest) = match ns {
                [only] => (1.0, std::slice::from_ref(only)),
                [first, rest @ ..] => (*first, rest),
                [] => unreachable!("handled above"),
            };
            let mut r = first;
            for d in rest {
                if *d == 0.0 || d.is_nan() {
                    return Err(Error::NotANumber(op.name()));
                }
                r /= d;
            }
            r
        }
        (_, ns) if ns.len() < 2 => return Err(invalid(op, "needs at least two numbers")),
        (_, [first, rest @ ..]) => rest.iter().fold(*first, |a, b| a % b),
        _ => unreachable!("every shape is matched above"),
    };
    if result.is_nan() {
        return Err(Error::NotANumber(op.name()));
    }
    Ok(number(result))
}

fn substr(list: Vec<Value>) -> Result<Value> {
    let mut it = list.into_iter();
    let Some(Value::String(s)) = it.next() else {
        return Err(invalid(Op::Substr, "the first argument is not a string"));
    };
    let from = it.next().unwrap_or(Value::Null);
    let len_arg = it.next();
    let chars: Vec<char> = s.chars().collect();
    let take = |from: &Value, len: Option<f64>, chars: &[char]| -> Vec<char> {
        let n = chars.len() as f64;
        let mut start = to_integer(to_number(from));
        if start < 0.0 {
            start = (n + start).max(0.0);
        }
        let start = start.min(n);
        let count = match len {
            None => n - start,
            Some(l) => to_integer(l).clamp(0.0, n - start),
        };
        chars[start as usize..(start + count) as usize].to_vec()
    };
    let out: Vec<char> = match &len_arg {
        Some(end) if less_than(end, &Value::from(0)) == Some(true) => {
            let rest = take(&from, None, &chars);
            let keep = (rest.len() as f64 + to_number(end)).max(0.0);
            rest[..keep as usize].to_vec()
        }
        Some(end) => take(&from, Some(to_number(end)), &chars),
        None => take(&from, None, &chars),
    };
    Ok(Value::String(out.into_iter().collect()))
}

fn to_integer(n: f64) -> f64 {
    if n.is_nan() { 0.0 } else { n.trunc() }
}

fn fractional(args: Args, data: &Value) -> Value {
    let Args::List(list) = args else {
        return Value::Null;
    };
    if list.is_empty() {
        return Value::Null;
    }
    let Some(flagd) = data.get("$flagd").filter(|f| js_truthy(f)) else {
        return Value::Null;
    };
    let (key, buckets) = match &list[0] {
        Value::String(s) => (s.clone(), &list[1..]),
        _ => {
            let Some(tk) = data.get("targetingKey").filter(|t| js_truthy(t)) else {
                return Value::Null;
            };
            let flag_key = flagd
                .get("flagKey")
                .map_or("undefined".to_string(), to_js_string);
            (flag_key + &to_js_string(tk), &list[..])
        }
    };
    let mut entries = Vec::with_capacity(buckets.len());
    let mut total: u64 = 0;
    for b in buckets {
        let Value::Array(e) = b else {
            return Value::Null;
        };
        let variant = match e.first() {
            Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null)) => {
                v.clone()
            }
            _ => return Value::Null,
        };
        if e.len() > 2 {
            return Value::Null;
        }
        let weight = match e.get(1) {
            None => 1,
            Some(w) => match w.as_f64() {
                Some(f) if f.fract() == 0.0 => f.max(0.0).min(u64::MAX as f64) as u64,
                _ => return Value::Null,
            },
        };
        total = total.saturating_add(weight);
        entries.push((variant, weight));
    }
    if total > i32::MAX as u64 {
        return Value::Null;
    }
    let hash = murmur3::murmur3_32(&mut key.as_bytes(), 0).unwrap_or(0);
    let bucket = (u64::from(hash) * total) >> 32;
    let mut sum = 0;
    for (variant, weight) in entries {
        sum += weight;
        if sum > bucket {
            return variant;
        }
    }
    Value::Null
}

/// A version as flagd reads it: an optional `v`, then SemVer 2.0, or `1` / `1.2` (completed
/// with zeros).
fn version(v: &Value) -> Option<semver::Version> {
    let raw = to_js_string(v);
    let s = raw.strip_prefix(['v', 'V']).unwrap_or(&raw);
    let t = s.trim();
    let t = t.strip_prefix('v').unwrap_or(t);
    if let Ok(v) = semver::Version::parse(t) {
        return Some(v);
    }
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() > 2
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let n = |i: usize| parts.get(i).map_or(Some(0), |p| p.parse::<u64>().ok());
    Some(semver::Version::new(n(0)?, n(1)?, 0))
}

fn sem_ver(args: Args) -> Value {
    let Args::List(list) = args else {
        return Value::Null;
    };
    let [a, op, b] = list.as_slice() else {
        return Value::Null;
    };
    let (Some(a), Some(b)) = (version(a), version(b)) else {
        return Value::Null;
    };
    let ord = a.cmp_precedence(&b);
    Value::Bool(match to_js_string(op).as_str() {
        "=" => ord == Ordering::Equal,
        "!=" => ord != Ordering::Equal,
        "<" => ord == Ordering::Less,
        "<=" => ord != Ordering::Greater,
        ">=" => ord != Ordering::Less,
        ">" => ord == Ordering::Greater,
        "^" => a.major == b.major,
        "~" => a.major == b.major && a.minor == b.minor,
        _ => return Value::Null,
    })
}

fn holds(op: Op, left: &Value, right: &Value) -> bool {
    match op {
        Op::Eq => loose_eq(left, right),
        Op::Ne => !loose_eq(left, right),
        Op::StrictEq => strict_eq(left, right),
        Op::StrictNe => !strict_eq(left, right),
        Op::Lt => less_than(left, right) == Some(true),
        Op::Gt => less_than(right, left) == Some(true),
        Op::Le => less_than(right, left) == Some(false),
        _ => less_than(left, right) == Some(false),
    }
}

/// What the reference's compiled comparisons do to the right-hand side (`compareCheck`):
/// numeric comparisons refuse what is not a number, and `null` meets a falsy value as equal.
fn compare_check(op: Op, item: Value, prev: &Value, strict: bool) -> Result<Value> {
    let text_or_null = |v: &Value| matches!(v, Value::String(_) | Value::Null);
    if strict || (text_or_null(&item) && text_or_null(prev)) {
        return Ok(item);
    }
    let nan = |v: &Value| -> Result<bool> {
        match v {
            Value::Array(_) | Value::Object(_) => Err(Error::NotANumber(op.name())),
            v => Ok(to_number(v).is_nan()),
        }
    };
    if nan(&item)? && !prev.is_null() {
        return Err(Error::NotANumber(op.name()));
    }
    if nan(prev)? {
        return Err(Error::NotANumber(op.name()));
    }
    if prev.is_null() && !js_truthy(&item) {
        return Ok(Value::Null);
    }
    if item.is_null() && !js_truthy(prev) {
        return Ok(Value::from(0));
    }
    Ok(item)
}

/// JsonLogic truthiness: JavaScript's, with an empty array false.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Array(a) => !a.is_empty(),
        v => js_truthy(v),
    }
}

/// JavaScript truthiness (every array and object is true).
fn js_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// A number as JSON: integral values as integers, the rest as floats; infinities become `null`
/// (as `JSON.stringify` writes them).
fn number(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
        return Value::from(f as i64);
    }
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// JavaScript's `ToNumber` of a JSON value.
fn to_number(v: &Value) -> f64 {
    match v {
        Value::Null => 0.0,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        Value::String(s) => string_to_number(s),
        Value::Array(_) => string_to_number(&to_js_string(v)),
        Value::Object(_) => f64::NAN,
    }
}

/// JavaScript's `StringToNumber`: decimal (with exponent), `0x`/`0o`/`0b` integers, `Infinity`;
/// blank is 0; anything else NaN.
fn string_to_number(s: &str) -> f64 {
    let t = s.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if t.is_empty() {
        return 0.0;
    }
    for (prefix, radix) in [
        ("0x", 16),
        ("0X", 16),
        ("0o", 8),
        ("0O", 8),
        ("0b", 2),
        ("0B", 2),
    ] {
        if let Some(digits) = t.strip_prefix(prefix) {
            return u128::from_str_radix(digits, radix).map_or(f64::NAN, |n| n as f64);
        }
    }
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    if unsigned == "Infinity" {
        return if t.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    let decimal = unsigned.bytes().any(|b| b.is_ascii_digit())
        && unsigned
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if decimal {
        t.parse().unwrap_or(f64::NAN)
    } else {
        f64::NAN
    }
}

/// JavaScript's `String(v)` of a JSON value.
pub fn to_js_string(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.to_string(),
            (_, Some(u)) => u.to_string(),
            _ => js_number(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => s.clone(),
        Value::Array(a) => a
            .iter()
            .map(|x| {
                if x.is_null() {
                    String::new()
                } else {
                    to_js_string(x)
                }
            })
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(_) => "[object Object]".into(),
    }
}

/// JavaScript's `Number.prototype.toString()`.
fn js_number(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if f == 0.0 {
        return "0".into();
    }
    let a = f.abs();
    if (1e-6..1e21).contains(&a) {
        return format!("{f}");
    }
    let e = format!("{f:e}");
    match e.split_once('e') {
        Some((m, exp)) if !exp.starts_with('-') => format!("{m}e+{exp}"),
        _ => e,
    }
}

/// JavaScript's `==` between JSON values (distinct arrays and objects are never equal).
fn loose_eq(a: &Value, b: &Value) -> bool {
    use Value::{Array, Bool, Null, Number as Num, Object, String as Str};
    match (a, b) {
        (Null, Null) => true,
        (Null, _) | (_, Null) => false,
        (Num(x), Num(y)) => x.as_f64() == y.as_f64(),
        (Str(x), Str(y)) => x == y,
        (Bool(x), Bool(y)) => x == y,
        (Bool(_), _) => loose_eq(&number(to_number(a)), b),
        (_, Bool(_)) => loose_eq(a, &number(to_number(b))),
        (Num(x), Str(_)) => x.as_f64() == Some(to_number(b)),
        (Str(_), Num(y)) => y.as_f64() == Some(to_number(a)),
        (Array(_) | Object(_), Array(_) | Object(_)) => false,
        (Array(_) | Object(_), _) => loose_eq(&Value::String(to_js_string(a)), b),
        (_, Array(_) | Object(_)) => loose_eq(a, &Value::String(to_js_string(b))),
    }
}

/// JavaScript's `===` between JSON values.
fn strict_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        _ => false,
    }
}

/// JavaScript's abstract relational comparison `a < b`: `None` when a side is NaN.
fn less_than(a: &Value, b: &Value) -> Option<bool> {
    let prim = |v: &Value| match v {
        Value::Array(_) | Value::Object(_) => Value::String(to_js_string(v)),
        v => v.clone(),
    };
    let (a, b) = (prim(a), prim(b));
    if let (Value::String(x), Value::String(y)) = (&a, &b) {
        return Some(x.encode_utf16().cmp(y.encode_utf16()) == Ordering::Less);
    }
    let (x, y) = (to_number(&a), to_number(&b));
    if x.is_nan() || y.is_nan() {
        None
    } else {
        Some(x < y)
    }
}

#[cfg(test)]
#[path = "jsonlogic_tests.rs"]
mod tests;
