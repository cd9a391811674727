"""Channels: adapters that turn the outside world into normalised inbound messages (DESIGN §3)."""
