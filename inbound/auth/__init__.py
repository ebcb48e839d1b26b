"""Who really sent it: SPF, DKIM, DMARC and ARC verdicts, and an optional spam score (§12).

The delivery worker asks ``check.Authenticator`` once per message, after reading the raw
bytes (never inside the SMTP transaction). Each library comes in through one module:
dnspython (``resolver``), pyspf (``spf``), dkimpy (``dkim``: DKIM and ARC), the public
suffix list (``dmarc``). This package file stays empty on purpose, so that reading the
configuration (``settings``) does not load the DNS and crypto libraries.
"""
