//! What a component is granted, resolved from the manifest at start-up: its variables, the KV
//! stores it may open, where it may connect, its environment.

use std::collections::BTreeMap;

use crate::allowed_hosts::AllowedHosts;

/// What a component is granted, resolved at start-up.
#[derive(Debug)]
pub struct ComponentCtx {
    /// The component id.
    pub id: String,
    /// Resolved component variables.
    pub variables: BTreeMap<String, String>,
    /// KV store labels it may open.
    pub kv_grants: Vec<String>,
    /// Outbound allow-list.
    pub allowed_hosts: AllowedHosts,
    /// Environment variables.
    pub environment: Vec<(String, String)>,
}
