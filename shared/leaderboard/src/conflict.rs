//! What a `409 conflict` is about ([`Conflict`]): each is a state of the stored data that refuses
//! a request, named once here with its fields and its sentence (the problem's `detail`).
//!
//! Three families ([`Conflict::kind`]): a request that **raced** other writers (a compare-and-set
//! that kept losing, or a write whose premise moved while it was written) may pass when it is
//! sent again as it is; a **standing** conflict stays until something else changes the state (a
//! review decided, an experiment stopped, a board of another kind); one of what **exists**
//! already needs another id. The doors say which it is where their protocol can: Connect and
//! gRPC answer `aborted`, `failed_precondition` and `already_exists`, as gRPC's status codes
//! define them, and a problem's translated detail says whether sending it again may help.

/// A conflict with the stored state, by what it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    // Raced: sent again as it is, the request may pass.
    /// A batch of the drain kept losing to other writers of its board's records.
    #[error("the records of {tenant}/{board} kept changing while a batch was applied")]
    BatchRaced {
        /// The board's tenant.
        tenant: String,
        /// The board.
        board: String,
    },
    /// A sync submission's write kept losing to other writes of the player's record.
    #[error(
        "the record of '{player}' changed {attempts} times while this submission was applied; retry"
    )]
    RecordRaced {
        /// The player.
        player: String,
        /// How many times the write was tried.
        attempts: usize,
    },
    /// The player's record changed while a flagged submission was taken back.
    #[error("the record of '{player}' changed while the flagged submission was taken back; retry")]
    RevertRaced {
        /// The player.
        player: String,
    },
    /// A league was deleted and made again while one of its periods was closed.
    #[error(
        "the league changed (deleted and created again) while period {period} was closed; retry"
    )]
    LeagueRemade {
        /// The period being closed.
        period: String,
    },
    /// A board's config kept changing while its rewards were awarded.
    #[error(
        "the config of board '{board}' changed {attempts} times while its rewards were awarded; retry"
    )]
    AwardRaced {
        /// The board.
        board: String,
        /// How many times the award was decided.
        attempts: usize,
    },
    /// A tournament's config kept changing while its end was announced.
    #[error("the config of tournament '{board}' changed {attempts} times while it was announced")]
    AnnounceRaced {
        /// The tournament's board.
        board: String,
        /// How many times the announcement was decided.
        attempts: usize,
    },
    /// A tournament's config kept changing while its window was changed.
    #[error("the config of board '{board}' changed {attempts} times meanwhile; retry")]
    WindowChangeRaced {
        /// The tournament's board.
        board: String,
        /// How many times the change was decided.
        attempts: usize,
    },
    /// A board kept gaining periods while it was deleted.
    #[error("board '{board}' kept gaining periods while it was being deleted; retry")]
    DeletionRaced {
        /// The board.
        board: String,
    },
    /// A board is being deleted (its keys swept) and cannot be changed meanwhile.
    #[error("board '{board}' is being deleted; retry")]
    BeingDeleted {
        /// The board.
        board: String,
    },
    /// A board kept changing while its replay was swapped in.
    #[error("the board kept changing while its replay was swapped in; retry")]
    ReplayRaced,
    /// The tenant's flag document kept changing under a request that changes it.
    #[error("the flag document kept changing under this request; retry")]
    FlagsRaced,
    /// A tournament's end moved (ended early or extended) while a submission was written.
    #[error(
        "the tournament's end moved while this submission was written (it was ended early or \
         extended): send it again"
    )]
    WindowMoved,
    /// A league's period closed while a submission to it was written.
    #[error(
        "period {period} of board '{board}' closed while this submission was written: send it again"
    )]
    PeriodClosed {
        /// The period written.
        period: String,
        /// The board.
        board: String,
    },
    /// A board stopped being a tournament (deleted and made again) while a submission was written.
    #[error("board '{board}' changed while this submission was written; retry")]
    BoardRemade {
        /// The board.
        board: String,
    },

    // The state refuses the request until something else changes it.
    /// A league's operation on a board that is no league.
    #[error("board '{board}' is not a league")]
    NotALeague {
        /// The board.
        board: String,
    },
    /// A tournament's operation on a board that is no tournament.
    #[error("board '{board}' is not a tournament: {why}")]
    NotATournament {
        /// The board.
        board: String,
        /// What the operation needs of a tournament.
        why: &'static str,
    },
    /// A run's rewards asked of a board without rewards.
    #[error("board '{board}' has no rewards")]
    NoRewards {
        /// The board.
        board: String,
    },
    /// A period's run asked of a tournament, whose runs are its windows.
    #[error("board '{board}' closes no period: its rewards are a tournament's")]
    NoPeriodRuns {
        /// The board.
        board: String,
    },
    /// Attempts granted on a board that counts none.
    #[error("board '{board}' is not a tournament with max_attempts: it counts no attempts")]
    NoAttempts {
        /// The board.
        board: String,
    },
    /// A replay of a board with cohorts (it would rebuild the standings but not the cohorts).
    #[error(
        "board '{board}' has cohorts: a replay rebuilds the board's standings but not its \
         cohorts', so it is refused rather than leaving them apart"
    )]
    ReplayOfCohorts {
        /// The board.
        board: String,
    },
    /// A replay with neither the whole log nor a snapshot to start from.
    #[error(
        "the log no longer reaches back to the board's creation and no snapshot is kept: \
         nothing to replay from"
    )]
    NothingToReplay,
    /// A flagged submission taken back after the player's record changed beyond it.
    #[error(
        "the record of '{player}' changed after the flagged submission; delete the player's \
         record instead"
    )]
    FlaggedRecordChanged {
        /// The player.
        player: String,
    },
    /// A time-travel read (`as_of`) of a cohort, whose past is not kept.
    #[error(
        "time travel ('as_of') reads the whole board's standings; a cohort's past is not kept \
         (cohort {cohort}: an admin or service reads the board without 'cohort')"
    )]
    CohortAsOf {
        /// The cohort asked for.
        cohort: String,
    },
    /// A claim of a run's rewards before the run has closed.
    #[error(
        "this run has not closed: its rewards are awarded when it closes (a period when it ends, \
         a tournament when its end is announced)"
    )]
    RunOpen,
    /// A claim of a closed run's rewards before they are final.
    #[error(
        "this run's rewards are not final yet: its held reviews are decided or its grace ends first"
    )]
    RewardsNotFinal,
    /// A tournament's extension to an end that is not later than its window's, or than now.
    #[error("a tournament is extended to a later end, after now and by 9999-12-31T23:59:59.999Z")]
    NotLater,
    /// A decision of a review already decided otherwise.
    #[error("review {id} is already {status}")]
    ReviewDecided {
        /// The review.
        id: String,
        /// Its decision (`approved`, `rejected`).
        status: &'static str,
    },
    /// A redrive of a webhook message that has not failed.
    #[error("message {id} is {state}; only a failed message can be redriven")]
    NotFailed {
        /// The message.
        id: String,
        /// Its state as the API names it.
        state: &'static str,
    },
    /// An experiment made with an id in use.
    #[error("experiment '{id}' exists; choose another id or DELETE it")]
    ExperimentExists {
        /// The experiment.
        id: String,
    },
    /// An experiment made on a flag another running experiment holds.
    #[error("flag '{flag}' already has a running experiment; stop it first")]
    FlagHasExperiment {
        /// The flag.
        flag: String,
    },
    /// A conversion sent outside an experiment's counting time.
    #[error(
        "experiment '{id}' is not counting ({state}): events are accepted between its start and \
         its end, until it is stopped"
    )]
    NotCounting {
        /// The experiment.
        id: String,
        /// Its state as the API names it.
        state: &'static str,
    },
    /// A flag document without a flag a running experiment holds.
    #[error(
        "flag '{flag}' is under running experiment '{experiment}'; stop the experiment before \
         removing it"
    )]
    FlagUnderExperiment {
        /// The flag.
        flag: String,
        /// The experiment.
        experiment: String,
    },
    /// A flag document without a variant a running experiment's arm names.
    #[error(
        "flag '{flag}' is under running experiment '{experiment}', whose arm '{arm}' must stay a \
         variant; stop the experiment first"
    )]
    ArmRemoved {
        /// The flag.
        flag: String,
        /// The experiment.
        experiment: String,
        /// The arm whose variant is missing.
        arm: String,
    },
    /// A promotion of an arm of a flag that no longer exists.
    #[error("flag '{flag}' no longer exists; nothing to promote")]
    FlagGone {
        /// The flag.
        flag: String,
    },
    /// A promotion of an arm that is no variant of the flag.
    #[error("'{arm}' is not a variant of flag '{flag}'")]
    NotAVariant {
        /// The arm.
        arm: String,
        /// The flag.
        flag: String,
    },
}

/// What a conflict asks of the caller ([`Conflict::kind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictKind {
    /// It raced other writers: sent again as it is, it may pass (gRPC's `aborted`).
    Raced,
    /// The state stands until something else changes it (`failed_precondition`).
    Standing,
    /// What it would make exists already (`already_exists`).
    Exists,
}

impl Conflict {
    /// Which family it is of; every kind is placed here, so a new one must be.
    pub fn kind(&self) -> ConflictKind {
        match self {
            Self::BatchRaced { .. }
            | Self::RecordRaced { .. }
            | Self::RevertRaced { .. }
            | Self::LeagueRemade { .. }
            | Self::AwardRaced { .. }
            | Self::AnnounceRaced { .. }
            | Self::WindowChangeRaced { .. }
            | Self::DeletionRaced { .. }
            | Self::BeingDeleted { .. }
            | Self::ReplayRaced
            | Self::FlagsRaced
            | Self::WindowMoved
            | Self::PeriodClosed { .. }
            | Self::BoardRemade { .. } => ConflictKind::Raced,
            Self::NotALeague { .. }
            | Self::NotATournament { .. }
            | Self::NoRewards { .. }
            | Self::NoPeriodRuns { .. }
            | Self::NoAttempts { .. }
            | Self::ReplayOfCohorts { .. }
            | Self::NothingToReplay
            | Self::FlaggedRecordChanged { .. }
            | Self::CohortAsOf { .. }
            | Self::RunOpen
            | Self::RewardsNotFinal
            | Self::NotLater
            | Self::ReviewDecided { .. }
            | Self::NotFailed { .. }
            | Self::FlagHasExperiment { .. }
            | Self::NotCounting { .. }
            | Self::FlagUnderExperiment { .. }
            | Self::ArmRemoved { .. }
            | Self::FlagGone { .. }
            | Self::NotAVariant { .. } => ConflictKind::Standing,
            Self::ExperimentExists { .. } => ConflictKind::Exists,
        }
    }

    /// Whether sending the request again as it is may pass ([`ConflictKind::Raced`]).
    pub fn retryable(&self) -> bool {
        self.kind() == ConflictKind::Raced
    }
}

#[cfg(test)]
mod tests {
    use super::{Conflict, ConflictKind};

    #[test]
    fn a_raced_write_is_retryable_and_a_standing_state_is_not() {
        assert!(Conflict::WindowMoved.retryable());
        assert_eq!(
            Conflict::ExperimentExists { id: "e".into() }.kind(),
            ConflictKind::Exists
        );
        assert!(Conflict::BeingDeleted { board: "b".into() }.retryable());
        assert!(!Conflict::RunOpen.retryable());
        assert!(
            !Conflict::ReviewDecided {
                id: "r1".into(),
                status: "approved"
            }
            .retryable()
        );
    }

    #[test]
    fn each_conflict_says_what_it_is_about() {
        assert_eq!(
            Conflict::PeriodClosed {
                period: "2026-11-29".into(),
                board: "daily".into()
            }
            .to_string(),
            "period 2026-11-29 of board 'daily' closed while this submission was written: send it \
             again"
        );
        assert_eq!(
            Conflict::NotATournament {
                board: "b".into(),
                why: "only a tournament is joined"
            }
            .to_string(),
            "board 'b' is not a tournament: only a tournament is joined"
        );
    }
}
