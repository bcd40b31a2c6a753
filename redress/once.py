"""Make a form's POST take effect once, even when it is submitted twice.

The form carries a random token; the first POST records the token (with
where it led) in the session, and a repeat of it is sent to the same place
instead of creating a second case or notice.
"""

from __future__ import annotations

import secrets

from django.http import HttpRequest

_KEY = "once_tokens"
_KEEP = 50


def new_token() -> str:
    return secrets.token_urlsafe(16)


def already_done(request: HttpRequest) -> str | None:
    """Where the first submission of this form led, if it was already handled."""
    token = request.POST.get("once", "")
    done: dict[str, str] = request.session.get(_KEY, {})
    return done.get(token) if token else None


def mark_done(request: HttpRequest, result_url: str) -> None:
    token = request.POST.get("once", "")
    if not token:
        return
    done: dict[str, str] = request.session.get(_KEY, {})
    done[token] = result_url
    request.session[_KEY] = dict(list(done.items())[-_KEEP:])
