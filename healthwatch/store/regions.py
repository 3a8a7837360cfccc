"""Regions and populations in the database.

Regions are written from :class:`healthwatch.regions.Region` values (the GB/T 2260 index), so a
stored region always has a known adcode. Populations are keyed by (adcode, year): saving a figure
for a key that exists replaces it, and the audit trail keeps the old one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from healthwatch.errors import InputError, NotFoundError, Problem
from healthwatch.regions.hierarchy import Region as RegionInfo
from healthwatch.regions.hierarchy import with_ancestors
from healthwatch.regions.population import PopulationRow
from healthwatch.store.audit import acting_as
from healthwatch.store.models import Population, Region


def save_regions(
    session: Session, regions: Iterable[RegionInfo], *, actor: str | None = None
) -> int:
    """Insert or update regions (parents must come first or already be stored); returns changes."""
    changed = 0
    with acting_as(session, actor or session.info.get("actor") or "system"):
        for info in regions:
            row = session.get(Region, info.adcode)
            values = {
                "name": info.name,
                "level": info.level,
                "parent": info.parent,
                "kind": info.kind,
                "type_zh": info.type_zh,
            }
            if row is None:
                session.add(Region(adcode=info.adcode, **values))
                changed += 1
            elif any(getattr(row, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(row, k, v)
                changed += 1
            session.flush()  # parents exist before their children are inserted
    return changed


def _region_dict(row: Region) -> dict[str, Any]:
    return {
        "adcode": row.adcode,
        "name": row.name,
        "level": row.level,
        "parent": row.parent,
        "kind": row.kind,
        "type_zh": row.type_zh,
    }


def list_regions(session: Session, parent: str | None = None) -> list[dict[str, Any]]:
    """Stored regions by adcode; with ``parent``, only its direct children."""
    query = select(Region).order_by(Region.adcode)
    if parent is not None:
        if session.get(Region, parent) is None:
            raise NotFoundError(
                f"Region {parent} is not in the database. Run `healthwatch regions list` to see "
                "the stored regions.",
                f"数据库中没有行政区 {parent}。可用 `healthwatch regions list` 查看已存的行政区。",
            )
        query = query.where(Region.parent == parent)
    return [_region_dict(r) for r in session.scalars(query)]


def save_populations(
    session: Session,
    rows: Sequence[PopulationRow],
    *,
    actor: str,
    source: str,
    synthetic: bool = False,
) -> int:
    """Write populations (persons); regions missing from the database are added from the index.

    All rows are checked before anything is written: an unknown adcode raises InputError.
    Returns the number of rows inserted or changed.
    """
    from healthwatch.regions.hierarchy import all_regions

    known = all_regions()
    unknown = sorted({r.adcode for r in rows if r.adcode not in known})
    if unknown:
        raise InputError(
            [
                Problem(f"Unknown adcode {code}.", f"未知的行政区划代码 {code}。", field="adcode")
                for code in unknown
            ]
        )
    stored = set(session.scalars(select(Region.adcode)))
    missing = {r.adcode for r in rows} - stored
    changed = 0
    with acting_as(session, actor):
        if missing:
            save_regions(session, [r for r in with_ancestors(missing) if r.adcode not in stored])
        existing = {
            (p.adcode, p.year): p
            for p in session.scalars(
                select(Population).where(Population.adcode.in_({r.adcode for r in rows}))
            )
        }
        for r in rows:
            current = existing.get((r.adcode, r.year))
            if current is None:
                session.add(
                    Population(
                        adcode=r.adcode,
                        year=r.year,
                        resident_persons=r.persons,
                        source=source,
                        synthetic=synthetic,
                    )
                )
                changed += 1
            elif (current.resident_persons, current.source, current.synthetic) != (
                r.persons,
                source,
                synthetic,
            ):
                current.resident_persons = r.persons
                current.source = source
                current.synthetic = synthetic
                changed += 1
    return changed


def populations(session: Session, year: int) -> dict[str, float]:
    """Resident population (persons) by adcode for ``year``."""
    rows = session.execute(
        select(Population.adcode, Population.resident_persons).where(Population.year == year)
    )
    return {adcode: persons for adcode, persons in rows}


def population_records(session: Session, year: int | None = None) -> list[dict[str, Any]]:
    """Population rows with their source and synthetic flag (all years, or one)."""
    query = select(Population).order_by(Population.year, Population.adcode)
    if year is not None:
        query = query.where(Population.year == year)
    return [
        {
            "adcode": p.adcode,
            "year": p.year,
            "resident_persons": p.resident_persons,
            "source": p.source,
            "synthetic": p.synthetic,
        }
        for p in session.scalars(query)
    ]
