//! The mutation root: a score's submission.

use std::marker::PhantomData;

use juniper::{FieldResult, ID, graphql_object};
use leaderboard::http::operation::Operation;
use leaderboard::{LeaderboardError, PlayerId, SubmissionInput};
use serde_json::Value;

use super::competitions::{self, Attempts, Award, JoinResult};
use super::{BoardInfo, Gql, ScoreInput, SubmitResult};

/// The mutation root.
#[derive(Default)]
pub struct Mutation<'r>(PhantomData<&'r ()>);

#[graphql_object(context = Gql<'r>)]
impl<'r> Mutation<'r> {
    /// Submits a score, exactly like `POST /api/v1/boards/{board}/scores`: the same
    /// authorization, rules, quotas and idempotency (`idempotencyKey` is the `Idempotency-Key`).
    async fn submit_score(
        context: &Gql<'r>,
        board: ID,
        input: ScoreInput,
        idempotency_key: Option<String>,
    ) -> FieldResult<Option<SubmitResult>> {
        context
            .run(async {
                context.ctx.require_principal()?;
                let b = context.board(Operation::SubmitScore, &board).await?;
                let metadata = input
                    .metadata
                    .as_deref()
                    .map(serde_json::from_str::<Value>)
                    .transpose()
                    .map_err(|e| {
                        LeaderboardError::InvalidBody(format!("'metadata' is not JSON: {e}"))
                    })?;
                let subscore = input
                    .subscore
                    .as_deref()
                    .map(str::parse::<i64>)
                    .transpose()
                    .map_err(|_| {
                        LeaderboardError::InvalidBody(
                            "'subscore' must be a 64-bit integer written as text".into(),
                        )
                    })?;
                let submission_player = PlayerId::new(&*input.player)?;
                let submission = SubmissionInput {
                    player: submission_player.clone(),
                    score: Value::String(input.score.clone()),
                    subscore,
                    metadata,
                    band: None,
                };
                // What a replay under the same key must match: the input, as JSON.
                let fingerprinted = serde_json::to_vec(&submission)
                    .map_err(|e| LeaderboardError::Internal(e.to_string()))?;
                let done = edge::submissions::submit::submit_input(
                    context.ctx,
                    context.call,
                    &b.id,
                    submission,
                    idempotency_key.as_deref(),
                    &fingerprinted,
                )
                .await?;
                SubmitResult::of(&b, &submission_player, &done).map(Some)
            })
            .await
    }

    /// Claims a player's award once, exactly like `POST /api/v1/boards/{board}/rewards/claim`:
    /// a claim made again answers the first claim's time and takes nothing more.
    async fn claim_reward(
        context: &Gql<'r>,
        board: ID,
        player: ID,
        period: Option<String>,
    ) -> FieldResult<Option<Award>> {
        context
            .run(competitions::claim(
                context,
                &board,
                &player,
                period.as_deref(),
            ))
            .await
    }

    /// Joins a player to a tournament, exactly like `POST /api/v1/boards/{board}/join`: a join
    /// made again answers `joinedNow: false` and changes nothing.
    async fn join_tournament(
        context: &Gql<'r>,
        board: ID,
        player: ID,
    ) -> FieldResult<Option<JoinResult>> {
        context
            .run(competitions::join(context, &board, &player))
            .await
    }

    /// Grants a player `extra` (1–1,000) more attempts in the current run, exactly like
    /// `POST /api/v1/boards/{board}/attempts` (service or admin; not idempotent: a grant adds).
    async fn grant_attempts(
        context: &Gql<'r>,
        board: ID,
        player: ID,
        extra: i32,
    ) -> FieldResult<Option<Attempts>> {
        context
            .run(competitions::grant(context, &board, &player, extra))
            .await
    }

    /// Ends an open tournament now, exactly like `POST /api/v1/boards/{board}/tournament/end`
    /// (admin): the board with its window as it is now.
    async fn end_tournament(context: &Gql<'r>, board: ID) -> FieldResult<Option<BoardInfo>> {
        context.run(competitions::end(context, &board)).await
    }

    /// Moves a tournament's end later, to `end` (RFC 3339), exactly like
    /// `POST /api/v1/boards/{board}/tournament/extend` (admin).
    async fn extend_tournament(
        context: &Gql<'r>,
        board: ID,
        end: String,
    ) -> FieldResult<Option<BoardInfo>> {
        context
            .run(competitions::extend(context, &board, &end))
            .await
    }
}
