"""Email: parsing raw mail, mailboxes, the raw mail store, receiving (SMTP receiver) and sending (SMTP)."""
