"""The public web form and the customer portal (magic-link sign-in, own tickets, replies)."""
