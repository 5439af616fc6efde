"""Real mail servers (Dovecot IMAP/POP3, aiosmtpd SMTP) run as test fixtures."""
