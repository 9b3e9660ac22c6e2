//! The evaluation: operators, lazy and eager, and the comparisons' scratch value.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::coerce::{
    arithmetic, js_truthy, less_than, loose_eq, number, strict_eq, substr, to_js_string, to_number,
    truthy,
};
use super::flagd::{fractional, sem_ver};
use super::path::{compiled_keys, lookup, missing};
use super::{Args, Error, MAX_ARRAY, MAX_STEPS, MAX_STRING, Op, Result, invalid, operation};

/// An evaluation. `prev` mirrors the one scratch variable of the reference's compiled rule: its
/// comparisons check the right-hand side against the last value any inner `var`, `or`, `and`,
/// comparison, `all` or unary `+`/`-`/`/` stored there (usually the left-hand side, but not
/// when the right-hand side reads the context), and that decides whether a mixed comparison is
/// an error. Iteration bodies are functions of their own, with their own.
pub(super) struct Eval {
    steps: u32,
    prev: Value,
}

impl Eval {
    /// A new evaluation: no steps taken, nothing stored in `prev`.
    pub(super) fn new() -> Self {
        Self {
            steps: 0,
            prev: Value::Null,
        }
    }

    pub(super) fn eval(&mut self, rule: &Value, data: &Value) -> Result<Value> {
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
