"""Mail I/O at the edge: sources (IMAP, POP3, Maildir), SMTP, TLS, credentials."""
