"""Routers that decline at once a path none of their routes can match.

Why: FastAPI (0.16x) finds a request's route by walking every route of every included router in
order, with a few microseconds of bookkeeping per route; the app has eight routers and about a
hundred routes, so a request for ``/api/v1/warning/map`` tried some sixty routes first, a quarter
of the CPU time of a cached dashboard answer. A :class:`GatedRouter` knows the first path
segments of its routes (``plans``, ``regions``, ``me`` …) and answers "no match" for any other
path from one set lookup, so a request walks only the router that holds its route.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.routing import Match

__all__ = ["GatedRouter", "include", "included"]


class GatedRouter(APIRouter):
    """An :class:`~fastapi.APIRouter` with a gate on the first path segment (see the module).

    The gate is set by :func:`include` once the router's routes are all declared; without it,
    or when a route's first segment is a path parameter, it matches as any APIRouter does.
    """

    _prefix: str = ""
    _segments: frozenset[str] | None = None

    def set_gate(self, prefix: str) -> None:
        """Accept only paths ``prefix/<segment>...`` whose segment starts one of the routes."""
        segments = set()
        for route in self.routes:
            path = getattr(route, "path", None)
            if not isinstance(path, str) or not path.startswith("/"):
                self._segments = None
                return
            first = path.split("/", 2)[1]
            if "{" in first:  # a parameter: any segment may match
                self._segments = None
                return
            segments.add(first)
        self._prefix, self._segments = prefix, frozenset(segments)

    def accepts(self, path: str) -> bool:
        """Whether a route of this router may match ``path`` (the path without root_path)."""
        if self._segments is None:
            return True
        if not path.startswith(self._prefix):
            return False
        rest = path[len(self._prefix) :].split("/", 2)
        return len(rest) > 1 and rest[0] == "" and rest[1] in self._segments

    def matches(self, scope: Any) -> tuple[Match, Any]:
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        if not self.accepts(path):
            return Match.NONE, {}
        return super().matches(scope)


def include(app: FastAPI, router: APIRouter, prefix: str = "") -> None:
    """``app.include_router(router, prefix=prefix)``, with the gate of a :class:`GatedRouter`;
    the pair is noted in :func:`included` for what reads the routes later (the OpenAPI
    document's security requirements)."""
    if isinstance(router, GatedRouter):
        router.set_gate(prefix)
    app.include_router(router, prefix=prefix)
    if not hasattr(app.state, "included_routers"):
        app.state.included_routers = []
    app.state.included_routers.append((router, prefix))


def included(app: FastAPI) -> list[tuple[APIRouter, str]]:
    """The routers given to :func:`include`, each with its prefix, in order."""
    routers: list[tuple[APIRouter, str]] = getattr(app.state, "included_routers", [])
    return routers
