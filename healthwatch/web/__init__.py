"""The web dashboard and REST API (FastAPI): ``create_app(db)``; served by ``healthwatch serve``."""

from __future__ import annotations

import os

from fastapi import FastAPI

from healthwatch.web.app import create_app

__all__ = ["app_from_environment", "create_app"]


def app_from_environment() -> FastAPI:
    """The app for ``$HEALTHWATCH_DB`` (uvicorn's factory, one per worker process)."""
    secure = os.environ.get("HEALTHWATCH_SECURE_COOKIES") == "1"
    return create_app(
        os.environ.get("HEALTHWATCH_DB"), warm=True, secure_cookies=True if secure else None
    )
