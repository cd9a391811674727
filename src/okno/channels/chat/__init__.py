"""The web chat widget's conversations: visitors, the live WebSocket, delivery and idle closing."""
