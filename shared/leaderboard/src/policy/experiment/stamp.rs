//! An experiment's marks in the flag document it runs on (`STAMP`, `STAMP_BOARDS` in the flag's
//! metadata): made when it starts, removed (or the winner promoted) when it ends.

use crate::Conflict;
use serde_json::{Value, json};

use super::Experiment;
use crate::error::{LeaderboardError, Result};

/// The flag-metadata key that marks a flag as under an experiment (its id). OFREP clients see
/// it in every evaluation's `metadata`, so they can tag their own analytics with it.
pub const STAMP: &str = "experiment";
/// The flag-metadata key listing the boards (comma-separated) whose submissions feed the
/// experiment: the scores component reads it from the flag document it already loads.
pub const STAMP_BOARDS: &str = "experimentBoards";

fn flag_mut<'d>(doc: &'d mut Value, flag: &str) -> Option<&'d mut serde_json::Map<String, Value>> {
    doc.get_mut("flags")
        .and_then(|f| f.get_mut(flag))
        .and_then(Value::as_object_mut)
}

/// Marks `exp`'s flag in a flag document as under the experiment. Refuses (409) when the flag
/// is gone or lost one of the arms: stop the experiment before removing them.
pub fn stamp(doc: &mut Value, exp: &Experiment) -> Result<()> {
    let flag = flag_mut(doc, &exp.flag).ok_or_else(|| {
        LeaderboardError::from(Conflict::FlagUnderExperiment {
            flag: exp.flag.clone(),
            experiment: exp.id.clone(),
        })
    })?;
    let variants = flag.get("variants").and_then(Value::as_object);
    if let Some(missing) = exp
        .arms()
        .into_iter()
        .find(|a| !variants.is_some_and(|v| v.contains_key(*a)))
    {
        return Err(Conflict::ArmRemoved {
            flag: exp.flag.clone(),
            experiment: exp.id.clone(),
            arm: missing.to_string(),
        }
        .into());
    }
    let md = flag
        .entry("metadata")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or_else(|| {
            LeaderboardError::InvalidBody(format!(
                "flag '{}': metadata must be an object",
                exp.flag
            ))
        })?;
    md.insert(STAMP.into(), Value::String(exp.id.clone()));
    let boards = exp.boards();
    if boards.is_empty() {
        md.remove(STAMP_BOARDS);
    } else {
        md.insert(STAMP_BOARDS.into(), Value::String(boards.join(",")));
    }
    Ok(())
}

/// Removes `id`'s mark from `flag` (no-op when the flag is gone or marked by another); with
/// `promote`, makes that variant the flag's default for everyone (its targeting rule removed).
pub fn unstamp(doc: &mut Value, flag: &str, id: &str, promote: Option<&str>) -> Result<()> {
    let Some(f) = flag_mut(doc, flag) else {
        return match promote {
            Some(_) => Err(Conflict::FlagGone {
                flag: flag.to_string(),
            }
            .into()),
            None => Ok(()),
        };
    };
    if let Some(md) = f.get_mut("metadata").and_then(Value::as_object_mut)
        && md.get(STAMP).and_then(Value::as_str) == Some(id)
    {
        md.remove(STAMP);
        md.remove(STAMP_BOARDS);
    }
    if let Some(arm) = promote {
        if f.get("variants").is_none_or(|v| v.get(arm).is_none()) {
            return Err(Conflict::NotAVariant {
                arm: arm.to_string(),
                flag: flag.to_string(),
            }
            .into());
        }
        f.insert("defaultVariant".into(), Value::String(arm.to_string()));
        f.remove("targeting");
    }
    Ok(())
}

/// The experiments (`(id, flag)`) whose flags are marked as fed by `board`'s submissions in a
/// stored flag document.
pub fn fed_by_board(doc: &Value, board: &str) -> Vec<String> {
    doc.get("flags")
        .and_then(Value::as_object)
        .map(|flags| {
            flags
                .values()
                .filter(|f| f.get("state").and_then(Value::as_str) == Some("ENABLED"))
                .filter_map(|f| {
                    let md = f.get("metadata")?;
                    let boards = md.get(STAMP_BOARDS)?.as_str()?;
                    boards
                        .split(',')
                        .any(|b| b == board)
                        .then(|| md.get(STAMP)?.as_str().map(str::to_string))?
                })
                .collect()
        })
        .unwrap_or_default()
}
