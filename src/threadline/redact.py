"""Keeping credentials out of everything threadline prints: logs, answers, errors and the CLI.

A URL may carry a secret in two places: its userinfo (``https://user:password@host``,
``postgresql://user:password@host/db``, ``https://TOKEN@host``) and its query (``?token=…``,
``?sslpassword=…``, a presigned URL's ``X-Amz-Signature=…``). :func:`redact_url` hides both and keeps
the rest, so the URL still says where it points; :func:`redact_text` does it for every URL inside a
message (an exception's text often quotes the URL it failed on).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

#: What a hidden value is replaced with.
HIDDEN = "***"
#: Query parameters whose values are secrets (matched anywhere in the name, case-insensitively).
_SECRET_PARAM = re.compile(r"pass|pwd|secret|token|key|auth|credential|signature|sig\b|session", re.I)
_QUERY_PAIR = re.compile(r"([^&;=]*)=([^&;]*)")
#: A URL inside free text: a scheme, ``://`` and everything up to white space or a quote.
_URL_IN_TEXT = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s\"<>]+")
#: Schemes whose userinfo without a password is itself a credential (``https://TOKEN@host``).
_TOKEN_USER_SCHEMES = {"http", "https", "ws", "wss"}


def _query(query: str) -> str:
    def hide(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"{name}={HIDDEN}" if _SECRET_PARAM.search(name) and match.group(2) else match.group(0)

    return _QUERY_PAIR.sub(hide, query)


def redact_url(url: str) -> str:
    """``url`` fit to print: the password (or, for http, a user-only token) and secret-looking query
    values replaced by ``***``; anything that does not parse as a URL is returned unchanged."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        if colon:
            userinfo = f"{user}:{HIDDEN}"
        elif parts.scheme.lower() in _TOKEN_USER_SCHEMES:
            userinfo = HIDDEN
        netloc = f"{userinfo}@{hostport}"
    query = _query(parts.query) if parts.query else parts.query
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str) -> str:
    """``text`` with every URL in it passed through :func:`redact_url`."""
    if "://" not in text:
        return text
    return _URL_IN_TEXT.sub(lambda match: redact_url(match.group(0)), text)
