//! What an evaluation answers (OpenFeature's resolution: value, variant, reason, error code) and
//! the value types a flag may have.

use serde_json::{Map, Value};

/// Why a value was chosen (OpenFeature reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// No targeting: the default variant.
    Static,
    /// The targeting rule chose the variant.
    TargetingMatch,
    /// The targeting rule gave nothing: the default variant.
    Default,
    /// The flag is disabled.
    Disabled,
    /// Evaluation failed.
    Error,
}

impl Reason {
    /// The OpenFeature name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Static => "STATIC",
            Self::TargetingMatch => "TARGETING_MATCH",
            Self::Default => "DEFAULT",
            Self::Disabled => "DISABLED",
            Self::Error => "ERROR",
        }
    }
}

/// OpenFeature error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// No flag with that key.
    FlagNotFound,
    /// The value is not of the expected type.
    TypeMismatch,
    /// The flag's rule could not be evaluated.
    ParseError,
    /// The context is unusable.
    InvalidContext,
    /// The rule needs a targeting key the context lacks.
    TargetingKeyMissing,
    /// Anything else (a rule naming no variant).
    General,
}

impl ErrorCode {
    /// The OpenFeature name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FlagNotFound => "FLAG_NOT_FOUND",
            Self::TypeMismatch => "TYPE_MISMATCH",
            Self::ParseError => "PARSE_ERROR",
            Self::InvalidContext => "INVALID_CONTEXT",
            Self::TargetingKeyMissing => "TARGETING_KEY_MISSING",
            Self::General => "GENERAL",
        }
    }
}

/// JSON types a flag value can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// `true`/`false`.
    Boolean,
    /// A string.
    String,
    /// A number.
    Number,
    /// An object.
    Object,
}

impl ValueType {
    /// The type of a JSON value (`None` for null and arrays, which flags do not have).
    pub fn of(v: &Value) -> Option<Self> {
        match v {
            Value::Bool(_) => Some(Self::Boolean),
            Value::String(_) => Some(Self::String),
            Value::Number(_) => Some(Self::Number),
            Value::Object(_) => Some(Self::Object),
            Value::Null | Value::Array(_) => None,
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Boolean => "boolean",
            Self::String => "string",
            Self::Number => "number",
            Self::Object => "object",
        }
    }
}

/// The result of evaluating one flag.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution {
    /// The flag key.
    pub key: String,
    /// The value (`None` only when there is none to give: an unknown flag, or an error without a
    /// default variant).
    pub value: Option<Value>,
    /// The variant chosen.
    pub variant: Option<String>,
    /// Why.
    pub reason: Reason,
    /// What went wrong, if anything.
    pub error: Option<(ErrorCode, String)>,
    /// The flag's (and the document's) metadata.
    pub metadata: Map<String, Value>,
}

impl Resolution {
    /// The resolution as JSON (`{key, value?, variant?, reason, errorCode?, errorDetails?,
    /// metadata}`), the shape OFREP answers with and service chaining carries.
    pub fn to_json(&self) -> Value {
        let mut v = serde_json::json!({"key": self.key, "reason": self.reason.as_str(),
            "metadata": self.metadata});
        if let Some(value) = &self.value {
            v["value"] = value.clone();
        }
        if let Some(variant) = &self.variant {
            v["variant"] = Value::String(variant.clone());
        }
        if let Some((code, details)) = &self.error {
            v["errorCode"] = Value::from(code.as_str());
            v["errorDetails"] = Value::from(details.clone());
        }
        v
    }
}

impl ValueType {
    /// Parses a type name (`boolean`, `string`, `number`, `object`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "boolean" => Some(Self::Boolean),
            "string" => Some(Self::String),
            "number" => Some(Self::Number),
            "object" => Some(Self::Object),
            _ => None,
        }
    }

    /// The type's name.
    pub fn as_str(self) -> &'static str {
        self.name()
    }
}
