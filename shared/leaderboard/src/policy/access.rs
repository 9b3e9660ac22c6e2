//! Access decisions: who may administer, submit and read, and which tenant a request acts on.
//!
//! Pure functions over an already-authenticated [`Principal`] (built by the adapter that verified
//! the bearer token, `edge::auth`) and the [`Board`] concerned. Each returns `Ok(())` or a
//! [`LeaderboardError::Unauthorized`] (401: credentials missing) /
//! [`LeaderboardError::Forbidden`] (403: credentials present but not sufficient) whose message says
//! exactly what was missing.
//!
//! | operation | `player` | `service` | `admin` | no token |
//! |-----------|----------|-----------|---------|----------|
//! | administer ([`authorize_admin`]) | 403 | 403 | ✓ | (401 upstream) |
//! | submit ([`authorize_submit`]) | own subject only; 403 if `require_service_role` | ✓ | ✓ | (401 upstream) |
//! | read ([`authorize_read`]) | ✓ | ✓ | ✓ | ✓ if `public_read`, else 401 |
//!
//! A token that carries no recognised role may neither submit nor read a non-public board (403).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::board::config::Board;
use crate::error::{LeaderboardError, Result};
use crate::ids::{PlayerId, TenantId};

/// A role granted by a token's `roles` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A game client acting for one player (its `sub`).
    Player,
    /// A trusted backend (game server) that may submit for any player.
    Service,
    /// An operator: board administration, plus everything a service may do.
    Admin,
    /// The platform operator (whoever runs the service for many tenants): tenant settings and
    /// quotas of any tenant, nothing inside a tenant. Granted by a token with `"roles":
    /// ["platform"]` from the configured issuer; not one of [`Role::ALL`] (the tenant roles).
    Platform,
}

impl Role {
    /// All roles, in the order they are listed in messages.
    pub const ALL: [Role; 3] = [Role::Player, Role::Service, Role::Admin];

    /// The claim value: `player`, `service` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Player => "player",
            Self::Service => "service",
            Self::Admin => "admin",
            Self::Platform => "platform",
        }
    }

    /// Parses a claim value; `None` for anything unrecognised (which callers ignore).
    pub fn from_claim(value: &str) -> Option<Self> {
        if value == "platform" {
            return Some(Self::Platform);
        }
        Self::ALL.into_iter().find(|r| r.as_str() == value)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The authenticated caller: who (`sub`), for which tenant (`tid`), with which roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// The token's `sub` claim. For a `player` token this is the player it may submit for.
    pub subject: String,
    /// The token's `tid` claim, or [`TenantId::default`].
    pub tenant: TenantId,
    /// Recognised roles from the token's `roles` claim (unknown values already dropped).
    pub roles: Vec<Role>,
}

impl Principal {
    /// Builds a principal.
    pub fn new(subject: impl Into<String>, tenant: TenantId, roles: Vec<Role>) -> Self {
        Self {
            subject: subject.into(),
            tenant,
            roles,
        }
    }

    /// Whether the principal holds `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// The roles as a message fragment: `[player, service]`, or `[]`.
    pub fn roles_list(&self) -> String {
        let names: Vec<&str> = self.roles.iter().map(|r| r.as_str()).collect();
        format!("[{}]", names.join(", "))
    }

    fn has_any_role(&self) -> bool {
        Role::ALL.into_iter().any(|r| self.has(r))
    }
}

fn no_recognised_role(principal: &Principal) -> LeaderboardError {
    LeaderboardError::Forbidden(format!(
        "the token for subject '{}' carries no recognised role (expected one of player, service, \
         admin)",
        principal.subject
    ))
}

/// Board administration (create/delete boards, delete players, flags, webhooks): `admin` only.
pub fn authorize_admin(principal: &Principal) -> Result<()> {
    if principal.has(Role::Admin) {
        return Ok(());
    }
    Err(LeaderboardError::Forbidden(format!(
        "this operation requires the 'admin' role; the token has roles {}",
        principal.roles_list()
    )))
}

/// Tenant settings and quotas: the `platform` role only.
pub fn authorize_platform(principal: &Principal) -> Result<()> {
    if principal.has(Role::Platform) {
        return Ok(());
    }
    Err(LeaderboardError::Forbidden(format!(
        "tenant settings require the 'platform' role; the token has roles {}",
        principal.roles_list()
    )))
}

/// Listing a tenant's boards (every configuration, private ones included): `service` or `admin`.
pub fn authorize_list(principal: &Principal) -> Result<()> {
    if principal.has(Role::Admin) || principal.has(Role::Service) {
        return Ok(());
    }
    Err(LeaderboardError::Forbidden(format!(
        "listing boards requires the 'service' or 'admin' role; the token has roles {}",
        principal.roles_list()
    )))
}

/// Operating a board's pipeline (reading its log, draining inboxes): `service` or `admin`.
pub fn authorize_operator(principal: &Principal, what: &str) -> Result<()> {
    if principal.has(Role::Admin) || principal.has(Role::Service) {
        return Ok(());
    }
    Err(LeaderboardError::Forbidden(format!(
        "{what} requires the 'service' or 'admin' role; the token has roles {}",
        principal.roles_list()
    )))
}

/// Submitting a score for `player` on `board`.
///
/// `admin` and `service` tokens may submit for anyone. A `player` token may submit only for its
/// own subject (`player == sub`), and not at all on a board with `require_service_role`.
pub fn authorize_submit(principal: &Principal, board: &Board, player: &PlayerId) -> Result<()> {
    if principal.has(Role::Admin) || principal.has(Role::Service) {
        return Ok(());
    }
    if !principal.has(Role::Player) {
        return Err(no_recognised_role(principal));
    }
    if board.require_service_role {
        return Err(LeaderboardError::Forbidden(format!(
            "board '{}' accepts scores only from 'service' or 'admin' tokens; the token has roles {}",
            board.id,
            principal.roles_list()
        )));
    }
    if player.as_str() != principal.subject {
        return Err(LeaderboardError::Forbidden(format!(
            "a player token may only submit scores for its own subject '{}'",
            principal.subject
        )));
    }
    Ok(())
}

/// Naming the skill band a first submission places its player by (a board with cohorts,
/// [`crate::competition::cohort`]): a `service` or `admin` token — the game's server, which
/// knows the player's skill — not a player's own.
pub fn authorize_band(principal: &Principal) -> Result<()> {
    if principal.has(Role::Admin) || principal.has(Role::Service) {
        Ok(())
    } else {
        Err(LeaderboardError::Forbidden(
            "only a 'service' or 'admin' token names a submission's cohort 'band': a player \
             token cannot choose its own"
                .into(),
        ))
    }
}

/// Whether a reader of a board with cohorts may read any cohort, or the whole board
/// ([`crate::competition::cohort::scope`]): an `admin` or `service` token, or no token on a
/// `public_read` board (whose every standing is public). A player reads its own cohort.
pub fn reads_any_cohort(principal: Option<&Principal>, board: &Board) -> bool {
    principal.map_or(board.public_read, |p| {
        p.has(Role::Admin) || p.has(Role::Service)
    })
}

/// Reading what is `player`'s own across boards (the tournaments it joined): the player's own
/// token, or a `service` or `admin` one for anyone.
pub fn authorize_own(principal: &Principal, player: &PlayerId) -> Result<()> {
    if principal.has(Role::Admin) || principal.has(Role::Service) {
        return Ok(());
    }
    if !principal.has(Role::Player) {
        return Err(no_recognised_role(principal));
    }
    if player.as_str() != principal.subject {
        return Err(LeaderboardError::Forbidden(format!(
            "a player token may only read its own subject '{}'",
            principal.subject
        )));
    }
    Ok(())
}

/// Reading `board` (config, entries, a player's rank, neighbours, events).
///
/// A `public_read` board needs no token. Otherwise a token with any recognised role is required:
/// none → 401, a token without a recognised role → 403.
pub fn authorize_read(principal: Option<&Principal>, board: &Board) -> Result<()> {
    authorize_read_of(principal, board.public_read)
}

/// Reading a board's stats and dashboard: anyone for a `public_read` board, else an admin (how
/// many submit, who climbs and what was held are an operator's view, not every player's).
pub fn authorize_stats(principal: Option<&Principal>, board: &Board) -> Result<()> {
    if board.public_read {
        return Ok(());
    }
    match principal {
        None => Err(LeaderboardError::Unauthorized(
            "this board is not public: its stats need an admin token".into(),
        )),
        Some(p) => authorize_admin(p),
    }
}

/// [`authorize_read`] from the board's `public_read` alone (what a cached read knows).
pub fn authorize_read_of(principal: Option<&Principal>, public_read: bool) -> Result<()> {
    if public_read {
        return Ok(());
    }
    match principal {
        None => Err(LeaderboardError::Unauthorized(
            "this board is not public: send Authorization: Bearer <token>".into(),
        )),
        Some(p) if p.has_any_role() => Ok(()),
        Some(p) => Err(no_recognised_role(p)),
    }
}

/// The tenant a request acts on, from the token and an optional `X-Tenant` header (`requested`).
///
/// - With a token, the tenant is the token's `tid`; a `requested` tenant must equal it (403 naming
///   both otherwise).
/// - Without a token, the `requested` tenant (validated, 400 if malformed), else `default`.
///
/// An empty or all-whitespace `requested` value counts as absent; surrounding whitespace is
/// trimmed.
pub fn resolve_tenant(principal: Option<&Principal>, requested: Option<&str>) -> Result<TenantId> {
    let requested = requested.map(str::trim).filter(|r| !r.is_empty());
    match (principal, requested) {
        (Some(p), Some(r)) if r != p.tenant.as_str() => Err(LeaderboardError::Forbidden(format!(
            "the token is for tenant '{}' but X-Tenant names tenant '{}'",
            p.tenant,
            r.chars()
                .take(crate::ids::MAX_ID_LEN + 1)
                .collect::<String>()
        ))),
        (Some(p), _) => Ok(p.tenant.clone()),
        (None, Some(r)) => TenantId::new(r),
        (None, None) => Ok(TenantId::default()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::board::config::BoardConfigInput;
    use crate::error::IdKind;
    use crate::ids::BoardId;
    use proptest::prelude::*;

    fn board(public_read: bool, require_service_role: bool) -> Board {
        let mut input = BoardConfigInput::new(BoardId::new("race").unwrap());
        input.public_read = public_read;
        input.require_service_role = require_service_role;
        input.validate().unwrap()
    }

    fn principal(subject: &str, roles: &[Role]) -> Principal {
        Principal::new(subject, TenantId::new("acme").unwrap(), roles.to_vec())
    }

    fn pid(s: &str) -> PlayerId {
        PlayerId::new(s).unwrap()
    }

    fn forbidden(r: Result<()>) -> String {
        match r {
            Err(LeaderboardError::Forbidden(m)) => m,
            other => panic!("expected 403, got {other:?}"),
        }
    }

    #[test]
    fn roles_serde_lowercase_and_claim_parsing() {
        assert_eq!(
            serde_json::to_string(&Role::Service).unwrap(),
            "\"service\""
        );
        let r: Vec<Role> = serde_json::from_str(r#"["player","admin"]"#).unwrap();
        assert_eq!(r, vec![Role::Player, Role::Admin]);
        assert!(serde_json::from_str::<Role>("\"Admin\"").is_err());
        assert_eq!(Role::from_claim("admin"), Some(Role::Admin));
        assert_eq!(Role::from_claim("superuser"), None);
        assert_eq!(Role::Player.to_string(), "player");
        let p = principal("u", &[Role::Player]);
        assert!(p.has(Role::Player) && !p.has(Role::Admin));
    }

    #[test]
    fn a_band_is_the_servers_to_name_and_any_cohort_an_admins_services_or_the_publics_to_read() {
        let (admin, service, player) = (
            principal("ops", &[Role::Admin]),
            principal("svc", &[Role::Service]),
            principal("ann", &[Role::Player]),
        );
        assert_eq!(authorize_band(&admin), Ok(()));
        assert_eq!(authorize_band(&service), Ok(()));
        assert!(forbidden(authorize_band(&player)).contains("band"));
        let (public, private) = (board(true, false), board(false, false));
        for b in [&public, &private] {
            assert!(reads_any_cohort(Some(&admin), b));
            assert!(reads_any_cohort(Some(&service), b));
            assert!(!reads_any_cohort(Some(&player), b));
        }
        assert!(reads_any_cohort(None, &public));
        assert!(!reads_any_cohort(None, &private));
    }

    #[test]
    fn admin_only() {
        assert_eq!(authorize_admin(&principal("ops", &[Role::Admin])), Ok(()));
        assert_eq!(
            forbidden(authorize_admin(&principal(
                "svc",
                &[Role::Service, Role::Player]
            ))),
            "this operation requires the 'admin' role; the token has roles [service, player]"
        );
        assert!(forbidden(authorize_admin(&principal("x", &[]))).ends_with("roles []"));
    }

    #[test]
    fn submit_rules() {
        let open = board(false, false);
        let strict = board(false, true);
        for role in [Role::Admin, Role::Service] {
            let p = principal("backend", &[role]);
            assert_eq!(authorize_submit(&p, &open, &pid("alice")), Ok(()));
            assert_eq!(authorize_submit(&p, &strict, &pid("alice")), Ok(()));
        }
        let alice = principal("alice", &[Role::Player]);
        assert_eq!(authorize_submit(&alice, &open, &pid("alice")), Ok(()));
        assert_eq!(
            forbidden(authorize_submit(&alice, &open, &pid("bob"))),
            "a player token may only submit scores for its own subject 'alice'"
        );
        assert_eq!(
            forbidden(authorize_submit(&alice, &strict, &pid("alice"))),
            "board 'race' accepts scores only from 'service' or 'admin' tokens; the token has \
             roles [player]"
        );
        let nobody = principal("alice", &[]);
        let msg = forbidden(authorize_submit(&nobody, &open, &pid("alice")));
        assert!(msg.contains("no recognised role"), "{msg}");
    }

    #[test]
    fn read_rules() {
        let public = board(true, false);
        let private = board(false, false);
        assert_eq!(authorize_read(None, &public), Ok(()));
        assert_eq!(
            authorize_read(None, &private),
            Err(LeaderboardError::Unauthorized(
                "this board is not public: send Authorization: Bearer <token>".into()
            ))
        );
        assert_eq!(authorize_read(None, &private).unwrap_err().status(), 401);
        for role in Role::ALL {
            assert_eq!(
                authorize_read(Some(&principal("u", &[role])), &private),
                Ok(())
            );
        }
        let nobody = principal("u", &[]);
        assert_eq!(authorize_read(Some(&nobody), &public), Ok(()));
        assert_eq!(
            authorize_read(Some(&nobody), &private)
                .unwrap_err()
                .status(),
            403
        );
    }

    #[test]
    fn tenant_resolution() {
        let p = principal("u", &[Role::Player]);
        assert_eq!(resolve_tenant(Some(&p), None).unwrap().as_str(), "acme");
        assert_eq!(
            resolve_tenant(Some(&p), Some("acme")).unwrap().as_str(),
            "acme"
        );
        assert_eq!(
            resolve_tenant(Some(&p), Some("  ")).unwrap().as_str(),
            "acme"
        );
        let e = resolve_tenant(Some(&p), Some("globex")).unwrap_err();
        assert_eq!(
            e,
            LeaderboardError::Forbidden(
                "the token is for tenant 'acme' but X-Tenant names tenant 'globex'".into()
            )
        );
        assert_eq!(resolve_tenant(None, None).unwrap().as_str(), "default");
        assert_eq!(resolve_tenant(None, Some("")).unwrap().as_str(), "default");
        assert_eq!(
            resolve_tenant(None, Some(" globex ")).unwrap().as_str(),
            "globex"
        );
        assert!(matches!(
            resolve_tenant(None, Some("Globex Corp")),
            Err(LeaderboardError::InvalidId {
                kind: IdKind::Tenant,
                ..
            })
        ));
        // A long mismatching header is truncated in the message.
        let long = "x".repeat(500);
        let msg = forbidden(resolve_tenant(Some(&p), Some(&long)).map(|_| ()));
        assert!(msg.len() < 200, "{msg}");
    }

    fn arb_roles_without_privilege() -> impl Strategy<Value = Vec<Role>> {
        prop::collection::vec(Just(Role::Player), 0..3)
    }

    proptest! {
        /// Without `service`/`admin`, a token can submit only for its own subject, and only on
        /// boards that do not require the service role.
        #[test]
        fn a_player_never_submits_for_someone_else(
            subject in "[A-Za-z0-9._~-]{1,8}",
            player in "[A-Za-z0-9._~-]{1,8}",
            roles in arb_roles_without_privilege(),
            require_service_role in any::<bool>(),
            public_read in any::<bool>(),
        ) {
            let p = principal(&subject, &roles);
            let b = board(public_read, require_service_role);
            let allowed = authorize_submit(&p, &b, &pid(&player)).is_ok();
            prop_assert_eq!(
                allowed,
                !roles.is_empty() && !require_service_role && player == subject
            );
            if !allowed {
                prop_assert_eq!(authorize_submit(&p, &b, &pid(&player)).unwrap_err().status(), 403);
            }
        }

        /// `service` or `admin` may always submit, for anyone.
        #[test]
        fn privileged_roles_always_submit(
            player in "[A-Za-z0-9._~-]{1,8}",
            admin in any::<bool>(),
            with_player in any::<bool>(),
            require_service_role in any::<bool>(),
        ) {
            let mut roles = vec![if admin { Role::Admin } else { Role::Service }];
            if with_player {
                roles.push(Role::Player);
            }
            let p = principal("backend", &roles);
            prop_assert!(authorize_submit(&p, &board(false, require_service_role), &pid(&player)).is_ok());
        }
    }
}
