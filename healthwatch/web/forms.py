"""How a page's form acts: one path for every server-rendered form that changes something.

Each form post does the same steps in the same order, and a form that skipped one would be a
hole: the session (else the login page), the session's CSRF token, the service called with the
user's actor (the service, not the page, decides what the role and region allow), then either a
redirect (303, so a reload does not post again) or, when the library refuses, the page again
with the refusal in Chinese and English. :func:`handle_form` does those steps; a page supplies
only what differs: which service to call and how to show a refusal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from healthwatch.errors import HealthwatchError
from healthwatch.users import Actor
from healthwatch.web.app import error_body
from healthwatch.web.pages import page_auth
from healthwatch.web.security import Auth, check_csrf


@dataclass(frozen=True)
class PostedForm:
    """A form posted by a logged-in user whose CSRF token has been checked."""

    request: Request
    auth: Auth
    fields: FormData

    @property
    def actor(self) -> Actor:
        return self.auth.actor

    @property
    def db(self) -> str | None:
        db: str | None = self.request.app.state.settings.db
        return db

    def text(self, name: str, limit: int | None = None, *, default: str = "") -> str:
        """The field as text (``default`` when missing), cut to ``limit`` characters if given."""
        value = str(self.fields.get(name, default))
        return value if limit is None else value[:limit]


FormAction = Callable[[PostedForm], "str | Response"]
"""Calls the service; returns the address to redirect to, or a page to show as it is."""

FormRefusal = Callable[[PostedForm, int, dict[str, Any]], Response]
"""The page shown when the service refuses: the form, the HTTP status and the error body
(``code``, ``message_zh``, ``message_en``, ``problems``, as the API answers it)."""


async def handle_form(
    request: Request, act: FormAction, refused: FormRefusal | None = None
) -> Response:
    """Check the session and the CSRF token, run ``act`` and redirect where it says.

    A :class:`~healthwatch.errors.HealthwatchError` from ``act`` is shown by ``refused`` with
    the status and bilingual body the API would answer; without ``refused`` it goes on to the
    application's error handler (the error page). A ``Response`` from ``act`` (a page showing a
    result, or a refusal the page decides itself) is returned unchanged.
    """
    auth = page_auth(request)
    fields = await request.form()
    check_csrf(request, auth, str(fields.get("csrf_token", "")))
    posted = PostedForm(request, auth, fields)
    try:
        outcome = act(posted)
    except HealthwatchError as exc:
        if refused is None:
            raise
        status, body = error_body(exc)
        return refused(posted, status, body)
    if isinstance(outcome, Response):
        return outcome
    return RedirectResponse(outcome, status_code=303)
