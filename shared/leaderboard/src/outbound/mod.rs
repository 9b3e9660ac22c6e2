//! Webhooks: subscriptions, the targets they may name, and deliveries.

pub mod webhook;
pub mod webhook_delivery;
pub mod webhook_target;
