"""Credentials never leave the process: find them in a database URI or DSN and mask them.

Handles every common form: ``scheme://user:password@host/db`` (also with ``/``, ``@``
or ``:`` inside the password, and percent-encoded), credentials in the query string
(``?user=u&password=...``), libpq keyword strings (``host=h password='p w'``), ODBC /
ADO strings (``Server=h;Pwd=...;``) and tokens (``token=``, ``api_key=``). Masking is
over-eager on purpose: every candidate secret, raw and percent-decoded/encoded, is
replaced wherever it appears in a message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, unquote

__all__ = ["MASK", "display_uri", "scrub", "uri_secrets"]

MASK = "***"
_KEYS = (
    r"password|passwd|pwd|pass|sslpassword|secret|client_secret|token|access_token|"
    r"auth_token|api_key|apikey|sas_token|private_key|private_key_passphrase"
)
_KEYWORD = re.compile(
    rf"""(?ix)(?:^|[\s;&?,]) (?:{_KEYS}) \s*=\s*
    ( '(?:[^'\\]|\\.)*' | "(?:[^"\\]|\\.)*" | \{{[^}}]*\}} | [^\s;&,]+ )"""
)


def _variants(secret: str) -> set[str]:
    out = {secret, unquote(secret), quote(secret, safe=""), unquote(secret).replace("+", " ")}
    return {s for s in out if s}


def uri_secrets(uri: str) -> set[str]:
    """Every credential in a URI or DSN, with its encoded and decoded forms.

    Examples
    --------
    >>> sorted(uri_secrets("postgresql://u:S3/C@RET@host/db"))
    ['S3%2FC%40RET', 'S3/C@RET']
    >>> sorted(uri_secrets("host=h dbname=d user=u password='a b'"))
    ['a b', 'a%20b']
    """
    found: set[str] = set()
    for match in _KEYWORD.finditer(uri):
        value = match.group(1)
        if value[:1] in "'\"{" and len(value) >= 2:
            value = value[1:-1]
        found |= _variants(value)
    scheme = uri.find("://")
    if scheme >= 0:
        rest = uri[scheme + 3 :]
        # userinfo ends at the LAST '@' (a raw '@' or '/' may sit inside the password)
        for end in {rest.rfind("@"), rest.split("?", 1)[0].rfind("@")}:
            if end > 0:
                userinfo = rest[:end]
                if ":" in userinfo:
                    found |= _variants(userinfo.split(":", 1)[1])
    return found


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced by ``***`` (longest first).

    Examples
    --------
    >>> scrub("failed for postgresql://u:pw1@h/db", {"pw1"})
    'failed for postgresql://u:***@h/db'
    >>> scrub("driver adbc_driver_password=s3cret", {"S3CRET"})
    'driver adbc_driver_password=***'
    """
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:  # any case: drivers may lower-case what they echo
            text = re.sub(re.escape(secret), MASK, text, flags=re.IGNORECASE)
    return text


def display_uri(uri: str) -> str:
    """The URI or DSN as it may be shown or written: credentials masked, no user part.

    Examples
    --------
    >>> display_uri("postgresql://host/db?user=u&password=S3CRET")
    'postgresql://host/db?user=u&password=***'
    >>> display_uri("postgresql://u:S3/CRET@host:5432/db")
    'postgresql://host:5432/db'
    """
    masked = scrub(uri, uri_secrets(uri))
    return re.sub(r"://[^?#]*@", "://", masked, count=1)  # no user information at all
