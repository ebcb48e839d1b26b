"""Where raw mail, events and large attachments live: a local directory or S3."""
