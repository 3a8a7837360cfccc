"""Users, roles and region scopes: who may read and write what (pure; storage in ``store``)."""

from healthwatch.users.roles import (
    LOCAL_ADMIN,
    Actor,
    Role,
    in_region_scope,
    region_covers,
    require,
)

__all__ = ["LOCAL_ADMIN", "Actor", "Role", "in_region_scope", "region_covers", "require"]
