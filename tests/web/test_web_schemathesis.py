"""Schemathesis against the OpenAPI document: generated requests never get a 5xx.

A bounded number of examples per operation keeps it fast; requests are sent as an administrator
with a bearer token, so they reach the handlers rather than stopping at authentication. Answers
are also checked against the documented status codes, content types and response schemas.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from _webhelp import populate
from hypothesis import HealthCheck, settings

from healthwatch.services.users import issue_token
from healthwatch.store.db import dispose_engine, session_scope
from healthwatch.users import LOCAL_ADMIN
from healthwatch.web import create_app

pytestmark = pytest.mark.slow
_TOKEN: dict[str, str] = {}


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    url = f"sqlite:///{tmp_path_factory.mktemp('st') / 'st.sqlite'}"
    populate(url)
    with session_scope(url) as s:  # the newest token: generated ids rarely revoke it
        _TOKEN["admin"] = issue_token(s, LOCAL_ADMIN, "admin", name="schemathesis")[0]
    app = create_app(url, login_limit=1000)
    yield schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    dispose_engine(url)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_server_errors(case: schemathesis.Case) -> None:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    case.call_and_validate(
        headers={"Authorization": f"Bearer {_TOKEN['admin']}"},
        timeout=300,  # the access models take seconds on a loaded 2-core machine
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
