"""Email: parsing raw RFC 5322 mail into a normalised inbound message (receivers and sending come next)."""
