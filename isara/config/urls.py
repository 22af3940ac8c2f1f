"""What of a URL may be shown or stored: never its user info (`user:secret@`)."""

from __future__ import annotations


def without_userinfo(url: str) -> str:
    """`url` with its user info (`user:secret@` before the host) replaced by `***@`: what may be shown.

    Everything after "//" (or from the start, without a scheme) up to the last "@" ahead of any "?"
    or "#" counts as user info, so that a secret is hidden whole even where it holds a raw "/", ":"
    or "@" (malformed, but typed all the same).
    """
    scheme, sep, rest = url.partition("//")
    if not sep:  # no scheme: the user info, if any, starts the string
        scheme, rest = "", url
    end = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    if "@" not in rest[:end]:
        return url
    return f"{scheme}{sep}***@{rest[rest.rfind('@', 0, end) + 1:]}"


def has_userinfo(url: str) -> bool:
    """Whether `url` carries user info, which must come from the environment instead."""
    return without_userinfo(url) != url
