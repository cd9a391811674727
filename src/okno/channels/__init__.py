"""Channel adapters: each turns the outside world into normalised inbound messages (DESIGN §3) and sends
agents' replies back out through the job outbox."""
