//! The operation table: every operation the API serves, typed once, whichever door a request
//! comes through (a REST route, a GraphQL root field, a Connect method).
//!
//! A row names the operation, its REST form (method and path; `{…}` matches one segment) and
//! its rate-limit class. REST finds a request's operation from its method and path
//! ([`Operation::of_route`]); GraphQL and Connect name the operation a field or method runs;
//! all three count it under the row's class ([`Operation::class`]), so an operation is limited
//! the same through every door, and no door writes a class by hand. Putting an existing
//! operation into another door is its wire shape and the name of its row.
//!
//! A request that matches no row (a `404` or a `405`) counts as `admin`; a `HEAD` counts as its
//! `GET` (most API routes answer it `405`, as they did before the table). The table holds every
//! route of `api/openapi.json` that passes the rate limits, and only those (a test reads the
//! document): all but the health probes, `/metrics`, `/openapi.json`, `/docs` and the GraphQL and
//! Connect endpoints, whose fields and methods name their rows themselves.

use crate::policy::ratelimit::RouteClass;

/// Declares the table: each row `Name = "METHOD" "/path" Class,` with its doc.
macro_rules! operations {
    ($($(#[doc = $doc:literal])+ $name:ident = $method:literal $path:literal $class:ident,)+) => {
        /// An operation of the API (a row of the table: the module doc).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Operation {
            $($(#[doc = $doc])+ $name,)+
        }

        impl Operation {
            /// Every operation, in the table's order.
            pub const ALL: &'static [Operation] = &[$(Operation::$name,)+];

            /// The REST form's method.
            pub fn method(self) -> &'static str {
                match self {
                    $(Operation::$name => $method,)+
                }
            }

            /// The REST form's path (`{…}`: one segment, `{v}` the API version).
            pub fn path(self) -> &'static str {
                match self {
                    $(Operation::$name => $path,)+
                }
            }

            /// The rate-limit class it counts under, through every door.
            pub fn class(self) -> RouteClass {
                match self {
                    $(Operation::$name => RouteClass::$class,)+
                }
            }
        }
    };
}

operations! {
    /// The tenant's boards.
    ListBoards = "GET" "/api/{v}/boards" Read,
    /// Creates a board.
    CreateBoard = "POST" "/api/{v}/boards" Admin,
    /// A board's configuration and current period.
    GetBoard = "GET" "/api/{v}/boards/{board}" Read,
    /// Deletes a board.
    DeleteBoard = "DELETE" "/api/{v}/boards/{board}" Admin,
    /// A tenant's settings.
    GetTenant = "GET" "/api/{v}/tenants/{tenant}" Admin,
    /// Replaces a tenant's settings.
    PutTenant = "PUT" "/api/{v}/tenants/{tenant}" Admin,
    /// A tenant's usage against its quotas.
    GetTenantUsage = "GET" "/api/{v}/tenants/{tenant}/usage" Admin,
    /// The tenant's API keys.
    ListApiKeys = "GET" "/api/{v}/api-keys" Admin,
    /// Issues an API key.
    CreateApiKey = "POST" "/api/{v}/api-keys" Admin,
    /// One API key.
    GetApiKey = "GET" "/api/{v}/api-keys/{id}" Admin,
    /// Revokes an API key.
    DeleteApiKey = "DELETE" "/api/{v}/api-keys/{id}" Admin,
    /// Submits a score.
    SubmitScore = "POST" "/api/{v}/boards/{board}/scores" Write,
    /// A page of a board's standings.
    GetLeaderboard = "GET" "/api/{v}/boards/{board}/entries" Read,
    /// Several players' standings at once.
    ListPlayers = "GET" "/api/{v}/boards/{board}/players" Read,
    /// One player's standing.
    GetPlayer = "GET" "/api/{v}/boards/{board}/players/{player}" Read,
    /// Removes a player from a board.
    DeletePlayer = "DELETE" "/api/{v}/boards/{board}/players/{player}" Admin,
    /// The players around one.
    GetAround = "GET" "/api/{v}/boards/{board}/players/{player}/around" Read,
    /// A board's event log.
    ListEvents = "GET" "/api/{v}/boards/{board}/events" Admin,
    /// A board's dead letters.
    ListDeadLetters = "GET" "/api/{v}/boards/{board}/dead-letters" Admin,
    /// Drops a board's dead letters.
    DeleteDeadLetters = "DELETE" "/api/{v}/boards/{board}/dead-letters" Admin,
    /// Sends a board's dead letters through again.
    RedriveDeadLetters = "POST" "/api/{v}/boards/{board}/dead-letters/redrive" Admin,
    /// Rebuilds a board's projection from its log.
    ReplayBoard = "POST" "/api/{v}/boards/{board}/replay" Admin,
    /// Drains the inboxes over HTTP (without the Redis trigger).
    Drain = "POST" "/api/{v}/admin/drain" Admin,
    /// The tenant's audit log.
    ListAudit = "GET" "/api/{v}/audit" Admin,
    /// The tenant's flag document.
    GetFlags = "GET" "/api/{v}/flags" Admin,
    /// Replaces the tenant's flag document.
    PutFlags = "PUT" "/api/{v}/flags" Admin,
    /// Evaluates every flag (OFREP).
    EvaluateFlags = "POST" "/ofrep/v1/evaluate/flags" Read,
    /// Evaluates one flag (OFREP).
    EvaluateFlag = "POST" "/ofrep/v1/evaluate/flags/{key}" Read,
    /// The tenant's experiments.
    ListExperiments = "GET" "/api/{v}/experiments" Admin,
    /// Starts an experiment.
    CreateExperiment = "POST" "/api/{v}/experiments" Admin,
    /// One experiment.
    GetExperiment = "GET" "/api/{v}/experiments/{id}" Admin,
    /// Deletes an experiment.
    DeleteExperiment = "DELETE" "/api/{v}/experiments/{id}" Admin,
    /// Stops an experiment.
    StopExperiment = "POST" "/api/{v}/experiments/{id}/stop" Admin,
    /// An experiment's results.
    GetExperimentResults = "GET" "/api/{v}/experiments/{id}/results" Admin,
    /// Records an experiment's events.
    RecordExperimentEvents = "POST" "/api/{v}/experiments/{id}/events" Admin,
    /// Follows a board's changes (event stream, long-poll or snapshot).
    StreamUpdates = "GET" "/api/{v}/boards/{board}/live" Read,
    /// The tenant's webhook subscriptions.
    ListWebhooks = "GET" "/api/{v}/webhooks" Admin,
    /// Subscribes a webhook.
    CreateWebhook = "POST" "/api/{v}/webhooks" Admin,
    /// One webhook subscription.
    GetWebhook = "GET" "/api/{v}/webhooks/{id}" Admin,
    /// Changes a webhook subscription.
    PatchWebhook = "PATCH" "/api/{v}/webhooks/{id}" Admin,
    /// Removes a webhook subscription.
    DeleteWebhook = "DELETE" "/api/{v}/webhooks/{id}" Admin,
    /// Gives a webhook subscription a new secret.
    RotateWebhookSecret = "POST" "/api/{v}/webhooks/{id}/rotate-secret" Admin,
    /// Sends a webhook a test message.
    TestWebhook = "POST" "/api/{v}/webhooks/{id}/test" Admin,
    /// A webhook's deliveries.
    ListDeliveries = "GET" "/api/{v}/webhooks/{id}/deliveries" Admin,
    /// Sends one delivery again.
    RedriveDelivery = "POST" "/api/{v}/webhooks/{id}/deliveries/{msg}/redrive" Admin,
    /// A board's held and flagged submissions.
    ListReviews = "GET" "/api/{v}/boards/{board}/reviews" Read,
    /// One review.
    GetReview = "GET" "/api/{v}/boards/{board}/reviews/{review}" Read,
    /// Approves a held submission.
    ApproveReview = "POST" "/api/{v}/boards/{board}/reviews/{review}/approve" Admin,
    /// Rejects a held submission.
    RejectReview = "POST" "/api/{v}/boards/{board}/reviews/{review}/reject" Admin,
    /// A board's live analytics.
    GetStats = "GET" "/api/{v}/boards/{board}/stats" Read,
    /// A board's live analytics as a page (SVG charts).
    GetDashboard = "GET" "/boards/{board}/dashboard" Admin,
    /// Joins a tournament.
    JoinTournament = "POST" "/api/{v}/boards/{board}/join" Write,
    /// A player's attempts in a tournament's run.
    GetAttempts = "GET" "/api/{v}/boards/{board}/attempts" Read,
    /// Grants a player attempts.
    GrantAttempts = "POST" "/api/{v}/boards/{board}/attempts" Admin,
    /// Ends a tournament early.
    EndTournament = "POST" "/api/{v}/boards/{board}/tournament/end" Admin,
    /// Extends a tournament.
    ExtendTournament = "POST" "/api/{v}/boards/{board}/tournament/extend" Admin,
    /// The tenant's tournaments.
    ListTournaments = "GET" "/api/{v}/tournaments" Read,
    /// The tournaments a player joined.
    ListPlayerTournaments = "GET" "/api/{v}/players/{player}/tournaments" Read,
    /// A run's rewards: where they stand and a player's award, or (a service's) every award.
    GetRewards = "GET" "/api/{v}/boards/{board}/rewards" Read,
    /// Claims a player's award.
    ClaimReward = "POST" "/api/{v}/boards/{board}/rewards/claim" Write,
    /// A player's league standing.
    GetLeague = "GET" "/api/{v}/boards/{board}/league" Read,
}

impl Operation {
    /// Whether it shows a board's configuration or standings, which the board's read access
    /// guards (`public_read`, else a token): what a door that serves several calls per request
    /// checks for it (`edge::reads::board_for_call`), as the REST route does. Apart from the
    /// class: a limit moved never moves the access check.
    pub fn reads_board(self) -> bool {
        matches!(
            self,
            Self::GetBoard
                | Self::GetLeaderboard
                | Self::ListPlayers
                | Self::GetPlayer
                | Self::GetAround
                | Self::StreamUpdates
        )
    }

    /// The operation a REST request runs (a `HEAD` is counted as its `GET`), if one matches its
    /// method and path (segments split on `/`, empty ones skipped, as the router does).
    pub fn of_route(method: &str, path: &str) -> Option<Self> {
        let method = if method == "HEAD" { "GET" } else { method };
        let given: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        Self::ALL
            .iter()
            .copied()
            .find(|op| op.method() == method && matches(op.path(), &given))
    }

    /// What the table makes of a REST request (no `HEAD` here: a route that has no `HEAD` row
    /// answers it `405`): the operation, or the methods its path has, or nothing.
    pub fn route(method: &str, path: &str) -> Route {
        let given: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut allowed: Vec<&'static str> = Vec::new();
        for op in Self::ALL.iter().copied() {
            if matches(op.path(), &given) {
                if op.method() == method {
                    return Route::Runs(op);
                }
                allowed.push(op.method());
            }
        }
        if allowed.is_empty() {
            return Route::NotFound;
        }
        allowed.sort_by_key(|m| METHOD_ORDER.iter().position(|o| o == m));
        allowed.dedup();
        Route::MethodNotAllowed(allowed.join(", "))
    }

    /// The class a REST request counts under: its operation's, `admin` for none.
    pub fn class_of_route(method: &str, path: &str) -> RouteClass {
        Self::of_route(method, path).map_or(RouteClass::Admin, Self::class)
    }
}

/// What [`Operation::route`] makes of a REST request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// It runs this operation.
    Runs(Operation),
    /// Operations have its path, none its method: theirs, for `Allow` (`GET, DELETE`).
    MethodNotAllowed(String),
    /// No operation has its path.
    NotFound,
}

/// The order `Allow` lists methods in.
const METHOD_ORDER: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// Whether a path's segments (`given`, split once per request) are `pattern`'s (`{…}` matching
/// any one).
fn matches(pattern: &str, given: &[&str]) -> bool {
    let mut wanted = pattern.split('/').filter(|s| !s.is_empty());
    let mut given = given.iter();
    loop {
        match (wanted.next(), given.next()) {
            (None, None) => return true,
            (Some(w), Some(g)) if w.starts_with('{') || w == *g => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn a_route_runs_its_operation_or_says_which_methods_its_path_has() {
        for (method, path, want) in [
            (
                "POST",
                "/api/v1/boards/x/scores",
                Route::Runs(Operation::SubmitScore),
            ),
            (
                "DELETE",
                "/api/v1/boards/x/players/a",
                Route::Runs(Operation::DeletePlayer),
            ),
            (
                "GET",
                "/api/v1/boards/x/scores",
                Route::MethodNotAllowed("POST".into()),
            ),
            (
                "PUT",
                "/api/v1/boards/x/attempts",
                Route::MethodNotAllowed("GET, POST".into()),
            ),
            (
                "POST",
                "/api/v1/boards/x/players/a",
                Route::MethodNotAllowed("GET, DELETE".into()),
            ),
            (
                "HEAD",
                "/api/v1/boards/x/entries",
                Route::MethodNotAllowed("GET".into()),
            ),
            (
                "PUT",
                "/api/v1/webhooks/w",
                Route::MethodNotAllowed("GET, PATCH, DELETE".into()),
            ),
            (
                "GET",
                "/api/v1/boards/x/players/a/around/more",
                Route::NotFound,
            ),
            ("GET", "/api/v1/boards/x/nothing", Route::NotFound),
        ] {
            assert_eq!(Operation::route(method, path), want, "{method} {path}");
        }
        // Every row is found by its own method and path.
        for op in Operation::ALL.iter().copied() {
            let path = op.path().replace("{v}", "v1").replace(['{', '}'], "");
            assert_eq!(
                Operation::route(op.method(), &path),
                Route::Runs(op),
                "{op:?}"
            );
        }
    }

    #[test]
    fn a_request_finds_its_operation_and_class() {
        for (method, path, op, class) in [
            (
                "GET",
                "/api/v1/boards",
                Some(Operation::ListBoards),
                RouteClass::Read,
            ),
            (
                "HEAD",
                "/api/v1/boards/x",
                Some(Operation::GetBoard),
                RouteClass::Read,
            ),
            (
                "POST",
                "/api/v2/boards/x/scores",
                Some(Operation::SubmitScore),
                RouteClass::Write,
            ),
            (
                "POST",
                "/api/v1/boards/x/join",
                Some(Operation::JoinTournament),
                RouteClass::Write,
            ),
            (
                "GET",
                "/api/v1/boards/x/attempts",
                Some(Operation::GetAttempts),
                RouteClass::Read,
            ),
            (
                "POST",
                "/api/v1/boards/x/attempts",
                Some(Operation::GrantAttempts),
                RouteClass::Admin,
            ),
            (
                "POST",
                "/api/v1/boards/x/rewards/claim",
                Some(Operation::ClaimReward),
                RouteClass::Write,
            ),
            (
                "GET",
                "/api/v1/players/ann/tournaments",
                Some(Operation::ListPlayerTournaments),
                RouteClass::Read,
            ),
            (
                "GET",
                "/api/v1/boards/x/events",
                Some(Operation::ListEvents),
                RouteClass::Admin,
            ),
            (
                "GET",
                "/api/v1/boards/x/reviews/7",
                Some(Operation::GetReview),
                RouteClass::Read,
            ),
            (
                "POST",
                "/ofrep/v1/evaluate/flags/x",
                Some(Operation::EvaluateFlag),
                RouteClass::Read,
            ),
            (
                "GET",
                "//api/v1//boards/x/",
                Some(Operation::GetBoard),
                RouteClass::Read,
            ),
            // No operation: a 404 or a 405, counted as admin.
            ("PATCH", "/api/v1/boards/x", None, RouteClass::Admin),
            ("GET", "/api/v1/boards/x/nothing", None, RouteClass::Admin),
            (
                "GET",
                "/api/v1/boards/x/players/a/around/more",
                None,
                RouteClass::Admin,
            ),
            ("GET", "/health/live", None, RouteClass::Admin),
            // As the path patterns before the table counted them.
            (
                "GET",
                "/api/v1/boards/x/entries",
                Some(Operation::GetLeaderboard),
                RouteClass::Read,
            ),
            (
                "GET",
                "/api/v2/boards/x/players/a/around",
                Some(Operation::GetAround),
                RouteClass::Read,
            ),
            (
                "GET",
                "/api/v1/boards/x/rewards",
                Some(Operation::GetRewards),
                RouteClass::Read,
            ),
            (
                "GET",
                "/api/v1/tournaments",
                Some(Operation::ListTournaments),
                RouteClass::Read,
            ),
            (
                "POST",
                "/api/v1/boards/x/tournament/end",
                Some(Operation::EndTournament),
                RouteClass::Admin,
            ),
            (
                "POST",
                "/api/v1/boards",
                Some(Operation::CreateBoard),
                RouteClass::Admin,
            ),
            (
                "DELETE",
                "/api/v1/boards/x/players/a",
                Some(Operation::DeletePlayer),
                RouteClass::Admin,
            ),
            (
                "GET",
                "/api/v1/boards/x/dead-letters",
                Some(Operation::ListDeadLetters),
                RouteClass::Admin,
            ),
            (
                "POST",
                "/api/v1/admin/drain",
                Some(Operation::Drain),
                RouteClass::Admin,
            ),
            (
                "GET",
                "/api/v1/audit",
                Some(Operation::ListAudit),
                RouteClass::Admin,
            ),
            (
                "PUT",
                "/api/v1/flags",
                Some(Operation::PutFlags),
                RouteClass::Admin,
            ),
            (
                "GET",
                "/boards/x/dashboard",
                Some(Operation::GetDashboard),
                RouteClass::Admin,
            ),
        ] {
            assert_eq!(Operation::of_route(method, path), op, "{method} {path}");
            assert_eq!(
                Operation::class_of_route(method, path),
                class,
                "{method} {path}"
            );
        }
    }

    #[test]
    fn the_table_holds_every_api_route_of_the_openapi_document_and_no_other() {
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("../../../../api/openapi.json")).unwrap();
        let mut documented = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            if path.starts_with("/health/")
                || ["/metrics", "/openapi.json", "/docs", "/graphql"].contains(&path.as_str())
                || path.starts_with("/leaderboard.v1.")
            {
                continue;
            }
            for method in item.as_object().unwrap().keys() {
                if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                    documented.insert((method.to_uppercase(), generic(path)));
                }
            }
        }
        let table: BTreeSet<(String, String)> = Operation::ALL
            .iter()
            .map(|op| (op.method().to_string(), generic(op.path())))
            .collect();
        assert_eq!(
            table.len(),
            Operation::ALL.len(),
            "a route twice in the table"
        );
        assert_eq!(
            documented.difference(&table).collect::<Vec<_>>(),
            Vec::<&(String, String)>::new(),
            "documented routes without an operation"
        );
        assert_eq!(
            table.difference(&documented).collect::<Vec<_>>(),
            Vec::<&(String, String)>::new(),
            "operations without a documented route"
        );
        // Every row finds itself.
        for op in Operation::ALL {
            let path = op.path().replace("{v}", "v1").replace(['{', '}'], "");
            assert_eq!(Operation::of_route(op.method(), &path), Some(*op), "{path}");
        }
    }

    /// A path with each `{…}` segment as `{}` (the document and the table may name them apart).
    fn generic(path: &str) -> String {
        path.split('/')
            .map(|s| if s.starts_with('{') { "{}" } else { s })
            .collect::<Vec<_>>()
            .join("/")
    }
}
