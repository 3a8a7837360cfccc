"""Who the CLI acts as: ``--as USER`` / ``$HEALTHWATCH_USER``, else the local administrator.

Why this is not a login: whoever can run the CLI against a database can already open the database
file or connection itself, so the CLI cannot be a security boundary. ``--as`` makes commands run
with a user's role and region scope, so that a county statistician's scripts are refused outside
its county exactly as in the web app, and the audit trail names that user. Without ``--as`` the
command runs as :data:`~healthwatch.users.LOCAL_ADMIN` (a single-user installation).
"""

from __future__ import annotations

from healthwatch.cli.options import AsOption as AsOption  # re-exported
from healthwatch.users import LOCAL_ADMIN, Actor


def resolve_cli_actor(db: str | None, as_user: str | None) -> Actor:
    """The actor for ``--as`` (an enabled stored user), or the local administrator."""
    if not as_user:
        return LOCAL_ADMIN
    from healthwatch.services.users import actor_for
    from healthwatch.store.db import session_scope

    with session_scope(db) as session:
        return actor_for(session, as_user)
