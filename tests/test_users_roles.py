"""Roles and region scopes (healthwatch.users)."""

from __future__ import annotations

import pytest

from healthwatch.errors import PermissionDeniedError
from healthwatch.users import LOCAL_ADMIN, Actor, Role, in_region_scope, require


@pytest.mark.parametrize(
    ("scope", "adcode", "inside"),
    [
        ("210000", "210302", True),
        ("210000", "220102", False),
        ("210300", "210302", True),
        ("210300", "210300", True),
        ("210300", "210000", False),
        ("210300", "210203", False),
        ("210302", "210302", True),
        ("210302", "210303", False),
    ],
)
def test_region_scope_is_the_subtree(scope: str, adcode: str, inside: bool) -> None:
    assert in_region_scope(Actor("u", Role.REPORTER, scope), adcode) is inside


def test_require_refuses_role_and_region_in_both_languages() -> None:
    county = Actor("tiedong", Role.REPORTER, "210302")
    require(county, "write", "210302")
    with pytest.raises(PermissionDeniedError) as exc:
        require(county, "write", "210303")
    assert "210303" in exc.value.message_en and "只能" in exc.value.message_zh
    with pytest.raises(PermissionDeniedError):
        require(county, "unlock")
    with pytest.raises(PermissionDeniedError):
        require(Actor("v", Role.VIEWER, None), "write", "210302")
    require(LOCAL_ADMIN, "unlock", "650000")
