//! An experiment's input checked: its arms' weights and its metrics.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{MAX_METRICS, Metric, MetricKind, check_name, fractional_weights, invalid};
use crate::error::Result;
use crate::ids::BoardId;

/// The arms' weights, normalised to sum to 1: those given, else the flag's `fractional` rule's;
/// each arm a variant of the flag with a positive weight, two arms at least, `control` among them.
pub(super) fn arm_weights(
    flag: &str,
    flag_json: &Value,
    given: Option<BTreeMap<String, f64>>,
    control: &str,
) -> Result<BTreeMap<String, f64>> {
    let variants: Vec<String> = flag_json
        .get("variants")
        .and_then(Value::as_object)
        .map(|v| v.keys().cloned().collect())
        .unwrap_or_default();
    let raw_weights = match given {
        Some(w) => w,
        None => flag_json
            .get("targeting")
            .and_then(fractional_weights)
            .ok_or_else(|| {
                invalid(format!(
                    "flag '{flag}' has no fractional rule to read the split from; give weights"
                ))
            })?,
    };
    if raw_weights.len() < 2 {
        return Err(invalid("an experiment needs at least two arms"));
    }
    for (arm, w) in &raw_weights {
        if !variants.contains(arm) {
            return Err(invalid(format!(
                "arm '{arm}' is not a variant of flag '{flag}' (variants: {})",
                variants.join(", ")
            )));
        }
        if !(w.is_finite() && *w > 0.0) {
            return Err(invalid(format!(
                "weight of '{arm}' must be a positive number"
            )));
        }
    }
    if !raw_weights.contains_key(control) {
        return Err(invalid(format!(
            "control '{control}' is not one of the arms ({})",
            raw_weights.keys().cloned().collect::<Vec<_>>().join(", ")
        )));
    }
    let total: f64 = raw_weights.values().sum();
    Ok(raw_weights
        .into_iter()
        .map(|(k, w)| (k, w / total))
        .collect())
}

/// 1 to [`MAX_METRICS`] metrics, each named once, each of a board or an event, a threshold only
/// on a conversion metric and finite.
pub(super) fn check_metrics(metrics: &[Metric]) -> Result<()> {
    if metrics.is_empty() || metrics.len() > MAX_METRICS {
        return Err(invalid(format!("give 1..={MAX_METRICS} metrics")));
    }
    for (i, m) in metrics.iter().enumerate() {
        check_name("metric name", &m.name)?;
        if metrics[..i].iter().any(|o| o.name == m.name) {
            return Err(invalid(format!("metric '{}' is declared twice", m.name)));
        }
        match (&m.board, &m.event) {
            (Some(b), None) => {
                BoardId::new(b.as_str())?;
            }
            (None, Some(e)) => check_name("event name", e)?,
            _ => {
                return Err(invalid(format!(
                    "metric '{}' needs exactly one of board or event",
                    m.name
                )));
            }
        }
        match (m.kind, m.threshold) {
            (MetricKind::Mean, Some(_)) => {
                return Err(invalid(format!(
                    "metric '{}': threshold applies to conversion metrics only",
                    m.name
                )));
            }
            (_, Some(t)) if !t.is_finite() => {
                return Err(invalid(format!(
                    "metric '{}': threshold must be finite",
                    m.name
                )));
            }
            _ => {}
        }
    }
    Ok(())
}
