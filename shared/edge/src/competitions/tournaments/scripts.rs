//! The scripts of a tournament's window and announcements, with named keys and arguments
//! (`crate::repo::script`), run by [`super::store`]; the join's, the grant's and the scan's are
//! declared beside the Rust that runs them, in [`super::store`].

crate::repo::script::script! {
    /// A tournament's window changed (`lua/tournament_window.lua`).
    mod window_write = include_str!("lua/tournament_window.lua");
    keys {
        /// The board's config (rewritten).
        config,
        /// The tournament's announcements (hash).
        announced,
    }
    args {
        /// The config as read: it is rewritten only while it is.
        config_read,
        /// The new config.
        config,
        /// `'1'` when an admin ended it early.
        early,
        /// The new end (Unix ms: kept as `end`, which a score's write checks against the end
        /// it decided on).
        end_ms,
    }
}

crate::repo::script::script! {
    /// A tournament's announcement (`lua/tournament_announce.lua`).
    mod announce = include_str!("lua/tournament_announce.lua");
    keys {
        /// The board's config.
        config,
        /// The tournament's announcements (hash: `started`, `ended`, … → when).
        announced,
        /// The board's log.
        events,
        /// Set when a webhook subscription wants the board.
        hooks_wanted,
        /// The webhook deliverer's bell.
        hooks_bell,
    }
    args {
        /// `started` or `ended`.
        which,
        /// The config as the decision read it: the announcement is made only while it is.
        config_read,
        /// The event.
        event,
        /// The webhook ring's payload (`wh:tenant/board`).
        hooks_ring,
        /// Now (Unix ms): what the mark holds.
        now_ms,
    }
}
