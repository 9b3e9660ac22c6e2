//! What a register's member names: an [`Item`] of a [`Kind`], about a board or a tenant
//! (`<kind>:<tenant>/<board>`, `<kind>:<tenant>`), and the alarm's keyspace events.

use leaderboard::{BoardId, TenantId};

use super::{LEASE_MS, Register};

/// The kinds of due work, each served by the worker in its own way (`functions/projector`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A competition's next edge (`crate::competitions`): a tournament's start or end, a
    /// periodic board's close, awards owed.
    Competition,
    /// The end of the period a push tier was sent of a board (`crate::live::push`); only in
    /// that tier's register.
    Rollover,
    /// A board whose drain may have left inbox entries claimed (a drain that died between
    /// claiming a batch and applying it): the inbox sweep (`crate::submissions::pipeline::sweep`).
    Inbox,
    /// A board whose write rang the webhook deliverer, which no fan-out may have heard
    /// (`crate::webhooks::due`).
    WebhookLog,
    /// A tenant whose webhook messages fall due: a retry's time, the end of a lease a deliverer
    /// took, a short while after the tenant's ring (`crate::webhooks::due`).
    WebhookMessages,
}

impl Kind {
    /// Every kind this release serves.
    pub const ALL: [Kind; 5] = [
        Kind::Competition,
        Kind::Rollover,
        Kind::Inbox,
        Kind::WebhookLog,
        Kind::WebhookMessages,
    ];

    /// Its name, as its items' members start.
    pub fn name(self) -> &'static str {
        match self {
            Self::Competition => "competition",
            Self::Rollover => "rollover",
            Self::Inbox => "inbox",
            Self::WebhookLog => "webhook_log",
            Self::WebhookMessages => "webhook_messages",
        }
    }

    /// The kind named `name`, if this release knows it.
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// How long a lease holds an item of this kind (a worker that dies holding it leaves it
    /// due again then): [`LEASE_MS`], but the webhook deliverer's, which a delivery holds for
    /// the worker's budget, an attempt's longest timeout (`webhook_timeout`, at most a minute)
    /// and a margin.
    pub fn lease_ms(self) -> i64 {
        match self {
            Self::WebhookLog | Self::WebhookMessages => 120_000,
            _ => LEASE_MS,
        }
    }

    /// Whether its items are about a tenant (else a board).
    fn of_tenant(self) -> bool {
        self == Self::WebhookMessages
    }

    /// What its items' subject is, in words.
    fn subject(self) -> &'static str {
        if self.of_tenant() {
            "<tenant>/*"
        } else {
            "<tenant>/<board>"
        }
    }
}

/// The board part of a tenant's item's subject (`<tenant>/*`): no board id is `*`.
const EVERY_BOARD: &str = "*";

/// A member a register holds that is no item this release serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unparsed {
    /// `<kind>:<subject>`, but of a kind this release does not know, or with ids it does not
    /// take (a later release's, in a rolling deploy or after a rollback): set aside, due again
    /// [`super::SET_ASIDE_MS`] later, for a worker that serves it.
    Unknown(String),
    /// No item of any release (no kind, a subject its kind never has, a kind that belongs in
    /// another register): forgotten.
    Broken(String),
}

/// Something due at a time, by kind: what a register's member names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// [`Kind::Competition`], in [`super::REGISTER`].
    Competition(TenantId, BoardId),
    /// [`Kind::Rollover`], in the tier's register ([`super::tier_register`]).
    Rollover {
        /// The push tier's id (`PushSettings::tier_id`).
        tier: String,
        /// The board's tenant.
        tenant: TenantId,
        /// The board.
        board: BoardId,
    },
    /// [`Kind::Inbox`], in [`super::REGISTER`].
    Inbox(TenantId, BoardId),
    /// [`Kind::WebhookLog`], in [`super::REGISTER`].
    WebhookLog(TenantId, BoardId),
    /// [`Kind::WebhookMessages`], in [`super::REGISTER`].
    WebhookMessages(TenantId),
}

impl Item {
    /// The item's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Self::Competition(..) => Kind::Competition,
            Self::Rollover { .. } => Kind::Rollover,
            Self::Inbox(..) => Kind::Inbox,
            Self::WebhookLog(..) => Kind::WebhookLog,
            Self::WebhookMessages(_) => Kind::WebhookMessages,
        }
    }

    /// The board it is about, if it is about one.
    pub fn board(&self) -> Option<(&TenantId, &BoardId)> {
        match self {
            Self::Competition(tenant, board)
            | Self::Inbox(tenant, board)
            | Self::WebhookLog(tenant, board)
            | Self::Rollover { tenant, board, .. } => Some((tenant, board)),
            Self::WebhookMessages(_) => None,
        }
    }

    /// The register's member: `<kind>:<tenant>/<board>`, or `<kind>:<tenant>/*` for a
    /// tenant's (a rollover's tier is its register's). Every member has a `/`: the previous
    /// release forgets a member without one, where it sets aside one of a kind it does not know.
    pub fn member(&self) -> String {
        let kind = self.kind().name();
        match self {
            Self::WebhookMessages(tenant) => format!("{kind}:{tenant}/{EVERY_BOARD}"),
            Self::Competition(tenant, board)
            | Self::Inbox(tenant, board)
            | Self::WebhookLog(tenant, board)
            | Self::Rollover { tenant, board, .. } => format!("{kind}:{tenant}/{board}"),
        }
    }

    /// The item a member of `register` names.
    pub fn parse(member: &str, register: &Register) -> std::result::Result<Self, Unparsed> {
        let Some((name, subject)) = member.split_once(':') else {
            return Err(Unparsed::Broken(format!(
                "'{member}' is no <kind>:<subject>"
            )));
        };
        let Some(kind) = Kind::named(name) else {
            return Err(Unparsed::Unknown(format!(
                "'{member}': this release serves no {name}"
            )));
        };
        if (kind == Kind::Rollover) != matches!(register, Register::Tier(_)) {
            let why = format!("'{member}': {} holds no {name}", register.key());
            return Err(Unparsed::Broken(why));
        }
        let broken = || {
            let what = kind.subject();
            Unparsed::Broken(format!("'{member}': a {name} is of a {what}"))
        };
        let Some((tenant, board)) = subject.split_once('/') else {
            return Err(broken());
        };
        if tenant.is_empty() || board.is_empty() || kind.of_tenant() != (board == EVERY_BOARD) {
            return Err(broken());
        }
        if kind.of_tenant() {
            let tenant =
                TenantId::new(tenant).map_err(|e| Unparsed::Unknown(format!("'{member}': {e}")))?;
            return Ok(Self::WebhookMessages(tenant));
        }
        let (tenant, board) = board_ref(subject.as_bytes())
            .map_err(|e| Unparsed::Unknown(format!("'{member}': {e}")))?;
        Ok(match (kind, register) {
            (Kind::Rollover, Register::Tier(tier)) => Self::Rollover {
                tier: tier.clone(),
                tenant,
                board,
            },
            (Kind::Inbox, _) => Self::Inbox(tenant, board),
            (Kind::WebhookLog, _) => Self::WebhookLog(tenant, board),
            _ => Self::Competition(tenant, board),
        })
    }

    /// The register it is kept in.
    pub fn register(&self) -> Register {
        match self {
            Self::Rollover { tier, .. } => Register::Tier(tier.clone()),
            _ => Register::Shared,
        }
    }
}

/// A board named in a register or a doorbell (`tenant/board`).
pub fn board_ref(entry: &[u8]) -> std::result::Result<(TenantId, BoardId), String> {
    let text = std::str::from_utf8(entry).map_err(|_| "the payload is not UTF-8".to_string())?;
    let (tenant, board) = text
        .split_once('/')
        .ok_or_else(|| format!("'{text}' is no tenant/board"))?;
    Ok((
        TenantId::new(tenant).map_err(|e| e.to_string())?,
        BoardId::new(board).map_err(|e| e.to_string())?,
    ))
}

/// A keyspace event of the alarm ([`super::ALARM`]), as the worker's trigger hands it over: only
/// its name (`expired`, or with a server publishing more than `Kx`, `set` and the like), where
/// every other message the worker takes names a board or carries JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmEvent {
    /// The alarm expired: something is due.
    Expired,
    /// Another event of the alarm key (its `SET`): nothing to do.
    Other,
}

impl AlarmEvent {
    /// The event a message is, if it is one (an event name: lowercase letters and `_`).
    pub fn parse(payload: &[u8]) -> Option<Self> {
        if payload.is_empty() || !payload.iter().all(|b| b.is_ascii_lowercase() || *b == b'_') {
            return None;
        }
        Some(if payload == b"expired" {
            Self::Expired
        } else {
            Self::Other
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ids(tenant: &str, board: &str) -> (TenantId, BoardId) {
        (TenantId::new(tenant).unwrap(), BoardId::new(board).unwrap())
    }

    #[test]
    fn an_item_is_read_back_from_its_member_in_its_register() {
        let (t, b) = ids("acme", "daily-1");
        let tier = Register::Tier("0123456789abcdef".into());
        let items = [
            (
                Item::Competition(t.clone(), b.clone()),
                "competition:acme/daily-1",
            ),
            (Item::Inbox(t.clone(), b.clone()), "inbox:acme/daily-1"),
            (
                Item::WebhookLog(t.clone(), b.clone()),
                "webhook_log:acme/daily-1",
            ),
            (Item::WebhookMessages(t.clone()), "webhook_messages:acme/*"),
            (
                Item::Rollover {
                    tier: "0123456789abcdef".into(),
                    tenant: t,
                    board: b,
                },
                "rollover:acme/daily-1",
            ),
        ];
        for (item, member) in items {
            assert_eq!(item.member(), member);
            let register = item.register();
            let expected = if item.kind() == Kind::Rollover {
                tier.clone()
            } else {
                Register::Shared
            };
            assert_eq!(register, expected);
            assert_eq!(Item::parse(member, &register), Ok(item));
        }
        assert_eq!(Register::Shared.key(), super::super::REGISTER);
        assert_eq!(tier.key(), "lb:{claims}:due:0123456789abcdef");
        for kind in Kind::ALL {
            assert_eq!(Kind::named(kind.name()), Some(kind));
        }
    }

    #[test]
    fn a_member_of_another_release_is_set_aside_and_one_of_none_is_broken() {
        let tier = Register::Tier("ab".into());
        let parsed = |member: &str, register: &Register| Item::parse(member, register);
        let unknown = |why: &str, member: &str| matches!(parsed(member, &Register::Shared), Err(Unparsed::Unknown(w)) if w.contains(why));
        let broken = |why: &str, member: &str, register: &Register| matches!(parsed(member, register), Err(Unparsed::Broken(w)) if w.contains(why));
        // A later release's kind, or ids this release does not take: set aside.
        assert!(unknown("serves no award", "award:acme/b"));
        assert!(unknown("'competition:acme/B@d'", "competition:acme/B@d"));
        assert!(unknown(
            "'webhook_messages:B@d/*'",
            "webhook_messages:B@d/*"
        ));
        // No item of any release: broken.
        for (why, member, register) in [
            ("holds no rollover", "rollover:acme/b", &Register::Shared),
            (
                "lb:{claims}:due:ab holds no competition",
                "competition:acme/b",
                &tier,
            ),
            ("holds no inbox", "inbox:acme/b", &tier),
            ("is no <kind>:<subject>", "acme/b", &Register::Shared),
            (
                "is of a <tenant>/<board>",
                "competition:acme",
                &Register::Shared,
            ),
            ("is of a <tenant>/<board>", "inbox:acme", &Register::Shared),
            ("is of a <tenant>/<board>", "inbox:acme/", &Register::Shared),
            ("is of a <tenant>/<board>", "inbox:/b", &Register::Shared),
            (
                "is of a <tenant>/<board>",
                "inbox:acme/*",
                &Register::Shared,
            ),
            (
                "is of a <tenant>/*",
                "webhook_messages:acme",
                &Register::Shared,
            ),
            (
                "is of a <tenant>/*",
                "webhook_messages:acme/b",
                &Register::Shared,
            ),
            (
                "is of a <tenant>/*",
                "webhook_messages:/*",
                &Register::Shared,
            ),
            ("is no <kind>:<subject>", "", &Register::Shared),
        ] {
            assert!(
                broken(why, member, register),
                "{member}: {:?}",
                parsed(member, register)
            );
        }
    }

    #[test]
    fn only_an_event_name_is_an_alarm_event() {
        assert_eq!(AlarmEvent::parse(b"expired"), Some(AlarmEvent::Expired));
        assert_eq!(AlarmEvent::parse(b"set"), Some(AlarmEvent::Other));
        assert_eq!(AlarmEvent::parse(b"rename_from"), Some(AlarmEvent::Other));
        for message in [
            &b""[..],
            b"default/race",
            b"inv:default/race",
            b"wh:default",
            br#"{"board":"race"}"#,
            b"Expired",
        ] {
            assert_eq!(AlarmEvent::parse(message), None, "{message:?}");
        }
    }
}
