"""The SMTP edge: aiosmtpd server, the handler's policy hooks, and the reply table."""
