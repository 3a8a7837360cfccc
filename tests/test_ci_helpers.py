"""The conftest helpers that keep CI from passing by skipping."""

from __future__ import annotations

import pytest
from conftest import import_or_fail_in_ci, require_or_skip, require_shared


def test_missing_shared_data_skips_locally_and_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        require_shared("no-such-folder-anywhere")
    with pytest.raises(pytest.skip.Exception):
        import_or_fail_in_ci("no_such_module_anywhere")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must provide it"):
        require_shared("no-such-folder-anywhere")
    with pytest.raises(pytest.fail.Exception, match="CI must provide it"):
        import_or_fail_in_ci("no_such_module_anywhere")
    require_or_skip(True, "present")  # nothing happens when the condition holds
