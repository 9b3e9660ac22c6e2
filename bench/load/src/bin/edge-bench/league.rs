//! A league's close, measured apart on each runtime after its other rows (`edge-seed league`):
//! a daily league of four tiers in cohorts of [`COHORT_SIZE`], BENCH_LEAGUE_PLAYERS players
//! (100,000: 1,000 cohorts) seeded into its previous day, then closed by one request and its
//! awards made by another; the time of each and what they cost in Redis. Each runtime closes
//! its own league (`bench-league-<runtime>`, created through the API and deleted after).

use std::time::Duration;

use anyhow::Result;
use serde_json::json;

use crate::Bench;
use crate::records::RuntimeResult;

/// The league's cohorts hold this many players.
pub const COHORT_SIZE: u32 = 100;

/// edge-seed's bound on each request, and the bound on the whole measurement (the seeding
/// included).
const REQUEST_SECS: &str = "600";
const LIMIT: Duration = Duration::from_secs(1_500);

/// The league of `id`: daily, four tiers, the best and worst fifth of each cohort moved, the
/// top three of each tier's cohorts paid.
fn league_board(id: &str) -> String {
    let top3 = |gems: u32| json!([{"from": 1, "to": 3, "reward": {"gems": gems}}]);
    json!({
        "id": id,
        "period": "daily",
        "cohort_size": COHORT_SIZE,
        "cache": {"ttl_secs": 0, "stale_secs": 0},
        "league": {
            "tiers": ["bronze", "silver", "gold", "diamond"],
            "promote": "20%",
            "demote": "20%",
            "rewards": {
                "bronze": top3(10),
                "silver": top3(20),
                "gold": top3(50),
                "diamond": top3(100),
            },
        },
    })
    .to_string()
}

impl Bench {
    /// The league close on `rt` (serving at `app`); see the module docs.
    pub(crate) fn league_close(&mut self, rt: &str, app: &str) -> Result<()> {
        let players = self.knobs.league_players.to_string();
        let board = format!("bench-league-{rt}");
        eprintln!(
            "==> {rt}: a league's close: {players} players in cohorts of {COHORT_SIZE}, closed \
             by one request, awarded by another"
        );
        let boards = format!("{app}/api/v1/boards");
        self.send_expect("201", "POST", &boards, &league_board(&board))?;
        let printed = self.tool(
            "edge-seed",
            &[
                "league",
                "--redis",
                self.redis_url.as_str(),
                "--url",
                app,
                "--board",
                board.as_str(),
                "--token",
                self.service_token.as_str(),
                "--players",
                players.as_str(),
                "--timeout-secs",
                REQUEST_SECS,
            ],
            LIMIT,
        )?;
        self.results
            .league
            .push(RuntimeResult::printed(rt, "edge-seed league", &printed)?);
        // Its players leave Redis before the next runtime's rows.
        self.send_expect("204", "DELETE", &format!("{boards}/{board}"), "")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_league_is_one_the_core_takes() {
        for rt in crate::knobs::RUNTIMES {
            let input: leaderboard::BoardConfigInput =
                serde_json::from_str(&league_board(&format!("bench-league-{rt}")))
                    .unwrap_or_else(|e| panic!("{rt}: {e}"));
            let board = input.validate().unwrap_or_else(|e| panic!("{rt}: {e}"));
            let league = board.league.unwrap_or_else(|| panic!("{rt}: no league"));
            assert_eq!(board.cohort_size, Some(COHORT_SIZE));
            assert_eq!(league.tiers.len(), 4);
            assert_eq!(league.rewards.len(), 4, "every tier pays");
        }
    }
}
