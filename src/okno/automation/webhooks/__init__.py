"""Outgoing webhooks: ticket events signed and delivered to subscribers' URLs through the outbox."""
