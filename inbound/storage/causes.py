"""Why a storage operation failed, in an operator's words (for log lines and attempts).

The backends raise ``StorageError`` whose text holds the backend's own code (``s3 put
failed: NoSuchBucket``, ``local put failed: No space left on device``); this names the
cause an operator acts on. Pure; never includes a key, a URL or a credential.
"""

from __future__ import annotations

# (fragment of the error text, the cause), first match wins.
_CAUSES = (
    ("NoSuchBucket", "bucket missing"),
    ("AccessDenied", "access denied"),
    ("InvalidAccessKeyId", "access denied (unknown access key)"),
    ("SignatureDoesNotMatch", "access denied (wrong secret key)"),
    ("NoCredentialsError", "access denied (no credentials)"),
    ("403", "access denied"),
    ("EndpointConnectionError", "endpoint unreachable"),
    ("ConnectTimeoutError", "endpoint unreachable (connect timeout)"),
    ("ConnectionClosedError", "endpoint unreachable (connection closed)"),
    ("ReadTimeoutError", "endpoint too slow (read timeout)"),
    ("no answer within", "endpoint too slow (timeout)"),
    ("No space left", "disk full"),
    ("Permission denied", "access denied (file permissions)"),
    ("Read-only file system", "read-only file system"),
    ("store is closed", "store closed (shutting down)"),
)


def describe(exc: BaseException) -> str:
    """``"bucket missing (s3 put failed: NoSuchBucket)"``; the class name if nothing fits."""
    text = str(exc) or type(exc).__name__
    for fragment, cause in _CAUSES:
        if fragment in text:
            return f"{cause} ({text})"
    return text
