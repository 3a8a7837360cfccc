"""Loading population files into the database (``healthwatch regions load``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from healthwatch.data.populations import read_populations
from healthwatch.store.db import session_scope
from healthwatch.store.regions import save_populations
from healthwatch.users import Actor, require


def load_population_file(
    path: str | Path,
    *,
    actor: Actor,
    year: int | None = None,
    source: str | None = None,
    synthetic: bool = False,
    db: str | None = None,
) -> dict[str, Any]:
    """Check a population file whole, then store it (source defaults to the file name).

    The file is read and checked before the database is opened, so a bad file writes nothing
    (and creates no database); ``actor`` must be allowed to write in every region of the file.
    """
    path = Path(path)
    rows = read_populations(path, year=year)
    for adcode in sorted({r.adcode for r in rows}):
        require(actor, "write", adcode)
    with session_scope(db, actor=actor.username, create=True) as session:
        changed = save_populations(
            session, rows, actor=actor.username, source=source or path.name, synthetic=synthetic
        )
    return {
        "file": str(path),
        "rows": len(rows),
        "changed": changed,
        "regions": len({r.adcode for r in rows}),
        "years": sorted({r.year for r in rows}),
        "synthetic": synthetic,
    }
