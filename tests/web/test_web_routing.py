"""GatedRouter: a router declines at once the paths none of its routes can match."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from healthwatch.web.routing import GatedRouter, include


def _app() -> tuple[FastAPI, GatedRouter, GatedRouter, GatedRouter]:
    first = GatedRouter()
    second = GatedRouter(prefix="/data")
    pages = GatedRouter()

    @first.get("/plans")
    def plans() -> str:
        return "plans"

    @first.get("/plans/{plan_id}")
    def plan(plan_id: str) -> str:
        return f"plan {plan_id}"

    @second.get("/history")
    def history() -> str:
        return "history"

    @pages.get("/")
    def home() -> str:
        return "home"

    @pages.get("/data")
    def data_page() -> str:
        return "data page"

    app = FastAPI()
    include(app, first, "/api/v1")
    include(app, second, "/api/v1")
    include(app, pages)
    return app, first, second, pages


def test_requests_reach_the_router_that_holds_their_route() -> None:
    app = _app()[0]
    client = TestClient(app)
    assert client.get("/api/v1/plans").json() == "plans"
    assert client.get("/api/v1/plans/x").json() == "plan x"
    assert client.get("/api/v1/data/history").json() == "history"
    assert client.get("/").json() == "home"
    assert client.get("/data").json() == "data page"
    assert client.get("/api/v1/nothing").status_code == 404
    assert client.get("/api/v1/plansx").status_code == 404


def test_the_gate_is_the_first_path_segment_under_the_prefix() -> None:
    _, first, second, pages = _app()
    assert first.accepts("/api/v1/plans/liaoning") and first.accepts("/api/v1/plans")
    assert not first.accepts("/api/v1/data/history") and not first.accepts("/api/v1")
    assert not first.accepts("/plans")  # outside the prefix
    assert second.accepts("/api/v1/data/history") and not second.accepts("/api/v1/plans")
    assert pages.accepts("/") and pages.accepts("/data") and not pages.accepts("/api/v1/data")


def test_a_parameter_as_first_segment_leaves_the_router_ungated() -> None:
    router = GatedRouter()

    @router.get("/{anything}")
    def anything(anything: str) -> str:
        return anything

    app = FastAPI()
    include(app, router, "/x")
    assert router.accepts("/y/z")
    assert TestClient(app).get("/x/hello").json() == "hello"


def test_every_route_of_the_app_passes_its_routers_gate() -> None:
    from healthwatch.web import (
        api,
        api_data,
        api_evaluate,
        api_warning,
        pages,
        pages_data,
        pages_evaluate,
        pages_warning,
    )
    from healthwatch.web.app import create_app

    create_app()  # sets the gates
    modules = (api, api_data, api_evaluate, api_warning)
    modules += (pages, pages_data, pages_evaluate, pages_warning)
    checked = 0
    for module in modules:
        router = module.router
        assert router._segments is not None, module.__name__  # gated
        for route in router.routes:
            path = router._prefix + re.sub(r"\{[^}]+\}", "x1", route.path)
            assert router.accepts(path), path
            checked += 1
    assert checked > 70
