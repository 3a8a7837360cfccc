"""The early-warning platform as a service: feeds in, daily detection, alerts out to people.

This module combines the store (:mod:`healthwatch.store.warning_models`) with the pure methods
(:mod:`healthwatch.warning`): it validates and stores feeds, runs the day's detection for every
configured series, fuses the signals into alerts with their evidence, carries each alert through
its lifecycle and notifies recipients. The CLI and the web app call these functions only.

Every function that writes takes an :class:`~healthwatch.users.Actor` and checks it with
:func:`~healthwatch.users.require`; duty officers see and answer only their region's alerts.
See ``docs/warning.md`` for the whole flow with a working example.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, insert, select, tuple_
from sqlalchemy.orm import Session

from healthwatch.errors import READ_REFUSED, InputError, NotFoundError, Problem
from healthwatch.regions.hierarchy import all_regions, liaoning_regions
from healthwatch.store.audit import iso_utc
from healthwatch.store.db import session_scope
from healthwatch.store.models import Region, utcnow
from healthwatch.store.warning_models import (
    WarningAlert,
    WarningAlertEvent,
    WarningConfig,
    WarningDeliveryAttempt,
    WarningFeedBatch,
    WarningNotification,
    WarningRecipient,
    WarningRun,
    WarningSeriesBlock,
    WarningSignal,
    WarningValueRevision,
)
from healthwatch.users import LOCAL_ADMIN, Actor, in_region_scope, require
from healthwatch.warning import integrate
from healthwatch.warning.catalogue import SOURCES, SYNDROMES
from healthwatch.warning.demo_data import DEMO_SERIES, PLANTED, demo_history
from healthwatch.warning.detection import (
    DetectionConfig,
    SeriesGroup,
    default_config,
    detect_day_stats,
)
from healthwatch.warning.feeds import (
    count_line_list,
    read_counts_file,
    read_line_list,
    records_frame,
    validate_counts,
)
from healthwatch.warning.geography import neighbours_within
from healthwatch.warning.lifecycle import (
    OPEN,
    STATUSES,
    VERIFY_WITHIN,
    is_overdue,
    next_status,
)
from healthwatch.warning.notify import RetryPolicy, deliver, send_email, send_webhook
from healthwatch.warning.reasons import fused_reason, method_name, single_case_reason

if TYPE_CHECKING:
    from healthwatch.warning.fusion import SourceCorrelation

__all__ = [
    "add_recipient",
    "alert_detail",
    "alert_evidence",
    "change_alert",
    "deliver_pending",
    "ingest_file",
    "ingest_frame",
    "ingest_records",
    "list_alerts",
    "list_configs",
    "load_demo",
    "open_levels",
    "possible_actions",
    "read_series",
    "run_day",
    "run_due",
    "scan_day",
    "set_config",
    "value_versions",
    "write_history",
]

DAYS_PER_BLOCK = 366
FUSION_WINDOW_DAYS = 7
#: fused results below this level stay signals (listed by the run) rather than alerts that a
#: duty officer must verify within 24 hours: one source alone is too weak to call someone out
DEFAULT_MIN_LEVEL = "yellow"
LEVEL_RANK = {"blue": 0, "yellow": 1, "orange": 2, "red": 3}
SMTP_ENV = "HEALTHWATCH_SMTP"
SMTP_FROM_ENV = "HEALTHWATCH_SMTP_FROM"


def _day(value: date | str | np.datetime64 | None) -> date:
    if value is None:
        return date.today()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise InputError(
            [
                Problem(
                    f"not a date in the form YYYY-MM-DD: {value!r}",
                    f"日期格式应为 YYYY-MM-DD：{value!r}",
                    field="date",
                )
            ]
        ) from None


def county_codes(session: Session) -> list[str]:
    """Adcodes of the county-level regions in the database (the units that report).

    A database without regions (feeds may arrive before anyone loaded the reference data) gets
    Liaoning's 100 counties from the packaged GB/T 2260 hierarchy.
    """
    stored = list(
        session.scalars(select(Region.adcode).where(Region.level == "county").order_by("adcode"))
    )
    if stored:
        return stored
    return sorted(r.adcode for r in liaoning_regions() if r.level == "county")


def reporting_regions() -> frozenset[str]:
    """County adcodes a feed may name: every county-level code of GB/T 2260."""
    return frozenset(a for a, r in all_regions().items() if r.level == "county")


# -- blocks: the current values ----------------------------------------------------------------


def _decode(block: WarningSeriesBlock) -> np.ndarray:
    n = len(block.regions)
    return np.frombuffer(block.values, dtype=np.float32).reshape(DAYS_PER_BLOCK, n).copy()


def _encode(matrix: np.ndarray) -> bytes:
    return np.ascontiguousarray(matrix, dtype=np.float32).tobytes()


def _new_block(source: str, syndrome: str, year: int) -> WarningSeriesBlock:
    return WarningSeriesBlock(
        source=source,
        syndrome=syndrome,
        year=year,
        regions=[],
        values=b"",
        updated_at=utcnow(),
    )


def _widen(block: WarningSeriesBlock, matrix: np.ndarray, regions: Iterable[str]) -> np.ndarray:
    """Add columns for regions the block does not hold yet (all days missing)."""
    known = list(block.regions)
    extra = [r for r in dict.fromkeys(regions) if r not in set(known)]
    if not extra:
        return matrix
    block.regions = known + extra
    pad = np.full((DAYS_PER_BLOCK, len(extra)), np.nan, dtype=np.float32)
    return np.concatenate([matrix.reshape(DAYS_PER_BLOCK, len(known)), pad], axis=1)


def _day_of_year(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    years = days.astype("datetime64[Y]")
    return years.astype(int) + 1970, (days - years.astype("datetime64[D]")).astype(int)


def _check_write_scope(actor: Actor, regions: Iterable[str]) -> None:
    require(actor, "write")
    for region in sorted(set(regions)):
        require(actor, "write", region)


def ingest_frame(
    session: Session,
    frame: pd.DataFrame,
    *,
    actor: Actor,
    kind: str = "counts",
    origin: str = "",
    sha256: str = "",
    rows: int | None = None,
) -> dict[str, Any]:
    """Store validated counts (:func:`healthwatch.warning.feeds.validate_counts` output).

    Values a batch changes are kept as revisions with their version; days that already had a
    detection run and received new or changed data are marked stale (``run_due`` runs them
    again). Returns the batch summary.
    """
    _check_write_scope(actor, frame["region"])
    days = frame["date"].to_numpy().astype("datetime64[D]")
    years, doy = _day_of_year(days)
    work = frame.assign(year=years, doy=doy)
    keys = work[["source", "syndrome", "year"]].drop_duplicates()
    blocks = {
        (b.source, b.syndrome, b.year): b
        for b in session.scalars(
            select(WarningSeriesBlock).where(
                tuple_(
                    WarningSeriesBlock.source,
                    WarningSeriesBlock.syndrome,
                    WarningSeriesBlock.year,
                ).in_([(str(a), str(b), int(c)) for a, b, c in keys.itertuples(index=False)])
            )
        )
    }
    new = revised = unchanged = 0
    revisions: list[dict[str, Any]] = []
    changed_days: set[date] = set()
    for (source, syndrome, year), group in work.groupby(["source", "syndrome", "year"]):
        key = (str(source), str(syndrome), int(year))
        block = blocks.get(key)
        if block is None:
            block = _new_block(*key)
            session.add(block)
            blocks[key] = block
            matrix = np.empty((DAYS_PER_BLOCK, 0), dtype=np.float32)
        else:
            matrix = _decode(block)
        matrix = _widen(block, matrix, group["region"])
        col = pd.Index(block.regions).get_indexer(group["region"])
        row = group["doy"].to_numpy()
        old = matrix[row, col].astype(float)
        value = group["count"].to_numpy(dtype=float)
        both_missing = np.isnan(old) & np.isnan(value)
        differs = ~both_missing & ~(old == value)
        is_new = differs & np.isnan(old)
        is_revision = differs & ~np.isnan(old)
        new += int(is_new.sum())
        revised += int(is_revision.sum())
        unchanged += int((~differs).sum())
        if differs.any():
            matrix[row[differs], col[differs]] = value[differs]
            block.values = _encode(matrix)
            block.updated_at = utcnow()
            changed_days.update(pd.to_datetime(group["date"].to_numpy()[differs]).date)
        else:
            block.values = _encode(matrix)  # new regions only
        for i in np.flatnonzero(is_revision):
            revisions.append(
                {
                    "date": pd.Timestamp(group["date"].iloc[i]).date(),
                    "region": str(group["region"].iloc[i]),
                    "source": key[0],
                    "syndrome": key[1],
                    "old_count": float(old[i]),
                    "new_count": None if np.isnan(value[i]) else float(value[i]),
                }
            )
    batch = WarningFeedBatch(
        actor=actor.username,
        kind=kind,
        origin=origin,
        sha256=sha256,
        rows=len(frame) if rows is None else rows,
        values_new=new,
        values_revised=revised,
        values_unchanged=unchanged,
        first_date=pd.Timestamp(days.min()).date() if len(days) else None,
        last_date=pd.Timestamp(days.max()).date() if len(days) else None,
        received_at=utcnow(),
    )
    session.add(batch)
    session.flush()
    if revisions:
        _add_revisions(session, batch.id, revisions)
    stale = []
    if changed_days:
        for run in session.scalars(
            select(WarningRun).where(WarningRun.run_date.in_(sorted(changed_days)))
        ):
            run.stale = True
            stale.append(run.run_date.isoformat())
    return {
        "batch": batch.id,
        "kind": kind,
        "rows": batch.rows,
        "values_new": new,
        "values_revised": revised,
        "values_unchanged": unchanged,
        "first_date": batch.first_date.isoformat() if batch.first_date else None,
        "last_date": batch.last_date.isoformat() if batch.last_date else None,
        "stale_runs": sorted(stale),
    }


def _add_revisions(session: Session, batch_id: int, revisions: list[dict[str, Any]]) -> None:
    """Number each changed value's versions: the first figure is version 1."""
    cells = {(r["date"], r["region"], r["source"], r["syndrome"]) for r in revisions}
    earlier: dict[tuple[Any, ...], int] = {}
    dates = sorted({c[0] for c in cells})
    for d, region, source, syndrome, n in session.execute(
        select(
            WarningValueRevision.date,
            WarningValueRevision.region,
            WarningValueRevision.source,
            WarningValueRevision.syndrome,
            func.count(),
        )
        .where(WarningValueRevision.date.in_(dates))
        .group_by(
            WarningValueRevision.date,
            WarningValueRevision.region,
            WarningValueRevision.source,
            WarningValueRevision.syndrome,
        )
    ):
        earlier[(d, region, source, syndrome)] = int(n)
    for r in revisions:
        cell = (r["date"], r["region"], r["source"], r["syndrome"])
        r["version"] = earlier.get(cell, 0) + 2
        r["batch_id"] = batch_id
    session.execute(insert(WarningValueRevision), revisions)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def ingest_file(
    path: str | Path,
    *,
    db: str | None = None,
    actor: Actor = LOCAL_ADMIN,
    line_list: bool = False,
    key: str | None = None,
    today: date | str | None = None,
) -> dict[str, Any]:
    """Validate and store a counts file (``date,region,source,syndrome,count``) or a line list.

    Line lists need the pseudonymisation key (``key`` or ``$HEALTHWATCH_PSEUDONYM_KEY``); the
    identity numbers never reach the database. Nothing is written when anything is wrong.
    """
    path = Path(path)
    regions = reporting_regions()
    with session_scope(db, actor=actor.username, create=True) as session:
        if line_list:
            cells, file, first = read_line_list(path)
            frame, stats = count_line_list(
                cells, regions=regions, key=key, today=today, file=file, first_line=first
            )
            result = ingest_frame(
                session,
                frame,
                actor=actor,
                kind="line_list",
                origin=path.name,
                sha256=_sha256(path),
                rows=stats["rows"],
            )
            result.update(cases=stats["cases"], duplicates_merged=stats["duplicates_merged"])
            return result
        frame = read_counts_file(path, regions=regions, today=today)
        return ingest_frame(session, frame, actor=actor, origin=path.name, sha256=_sha256(path))


def ingest_records(
    records: Sequence[Mapping[str, Any]],
    *,
    db: str | None = None,
    actor: Actor = LOCAL_ADMIN,
    today: date | str | None = None,
) -> dict[str, Any]:
    """The JSON way in: ``[{"date", "region", "source", "syndrome", "count"}]`` (null = missing)."""
    cells = records_frame(records)
    frame = validate_counts(
        cells, regions=reporting_regions(), today=today, file="records", first_line=1
    )
    with session_scope(db, actor=actor.username, create=True) as session:
        text = json.dumps(list(records), sort_keys=True, ensure_ascii=False, default=str)
        return ingest_frame(
            session,
            frame,
            actor=actor,
            origin="records",
            sha256=hashlib.sha256(text.encode()).hexdigest(),
        )


def write_history(
    session: Session,
    source: str,
    syndrome: str,
    start: date,
    regions: Sequence[str],
    matrix: np.ndarray,
    *,
    actor: Actor,
) -> int:
    """Bulk-load a history matrix (days x regions, NaN missing) as one ``history`` batch.

    For setting up a platform from an archive (and for the demo and benchmarks): blocks are
    written whole, without per-value revision records. Returns the number of values written.
    """
    _check_write_scope(actor, regions)
    if source not in SOURCES or syndrome not in SYNDROMES:
        raise InputError(
            [Problem("unknown source or syndrome", "未知的来源或症候群", field="source")]
        )
    days = np.datetime64(start, "D") + np.arange(matrix.shape[0])
    years, doy = _day_of_year(days)
    existing = {
        b.year: b
        for b in session.scalars(
            select(WarningSeriesBlock).where(
                WarningSeriesBlock.source == source, WarningSeriesBlock.syndrome == syndrome
            )
        )
    }
    for year in np.unique(years):
        rows = np.flatnonzero(years == year)
        block = existing.get(int(year))
        if block is None:
            block = _new_block(source, syndrome, int(year))
            session.add(block)
            current = np.empty((DAYS_PER_BLOCK, 0), dtype=np.float32)
        else:
            current = _decode(block)
        current = _widen(block, current, regions)
        col = pd.Index(block.regions).get_indexer(list(regions))
        current[np.ix_(doy[rows], col)] = matrix[rows]
        block.values = _encode(current)
        block.updated_at = utcnow()
    session.add(
        WarningFeedBatch(
            actor=actor.username,
            kind="history",
            origin=f"{source}/{syndrome}",
            rows=int(matrix.size),
            values_new=int(np.isfinite(matrix).sum()),
            first_date=start,
            last_date=pd.Timestamp(days[-1]).date(),
            received_at=utcnow(),
        )
    )
    return int(matrix.size)


def read_series(
    session: Session, configs: Sequence[tuple[str, str, int]], day: date
) -> dict[tuple[str, str], tuple[np.ndarray, list[str]]]:
    """For each (source, syndrome, history days): the matrix (days x regions) ending on ``day``.

    All blocks needed are read in one query per year; regions are the union over the years.
    """
    end = np.datetime64(day, "D")
    wanted: dict[int, set[tuple[str, str]]] = {}
    for source, syndrome, history in configs:
        first = end - (history - 1)
        for year in range(int(str(first)[:4]), day.year + 1):
            wanted.setdefault(year, set()).add((source, syndrome))
    blocks: dict[tuple[str, str], list[tuple[int, list[str], bytes]]] = {}
    for year, pairs in wanted.items():
        pairs_list = sorted(pairs)
        for chunk in range(0, len(pairs_list), 500):
            part = pairs_list[chunk : chunk + 500]
            stmt = select(
                WarningSeriesBlock.source,
                WarningSeriesBlock.syndrome,
                WarningSeriesBlock.regions,
                WarningSeriesBlock.values,
            ).where(
                WarningSeriesBlock.year == year,
                tuple_(WarningSeriesBlock.source, WarningSeriesBlock.syndrome).in_(part),
            )
            for source, syndrome, regions, values in session.execute(stmt):
                blocks.setdefault((source, syndrome), []).append((year, regions, values))
    out: dict[tuple[str, str], tuple[np.ndarray, list[str]]] = {}
    for source, syndrome, history in configs:
        parts = blocks.get((source, syndrome), [])
        regions = list(dict.fromkeys(r for _, regs, _ in parts for r in regs))
        matrix = np.full((history, len(regions)), np.nan)
        first = end - (history - 1)
        index = pd.Index(regions)
        for year, regs, values in parts:
            data = np.frombuffer(values, dtype=np.float32).reshape(DAYS_PER_BLOCK, len(regs))
            jan1 = np.datetime64(f"{year:04d}-01-01", "D")
            lo = max(first, jan1)
            hi = min(end, jan1 + DAYS_PER_BLOCK - 1)
            if hi < lo:
                continue
            src = slice(int((lo - jan1).astype(int)), int((hi - jan1).astype(int)) + 1)
            dst = slice(int((lo - first).astype(int)), int((hi - first).astype(int)) + 1)
            cols = index.get_indexer(regs)
            if len(regs) == len(regions) and np.array_equal(cols, np.arange(len(regs))):
                matrix[dst] = data[src]
            else:
                matrix[dst, cols] = data[src]
        out[(source, syndrome)] = (matrix, regions)
    return out


def value_versions(
    session: Session, day: date, region: str, source: str, syndrome: str
) -> list[dict[str, Any]]:
    """Every version of one value, oldest first (the last is the current value)."""
    revisions = session.scalars(
        select(WarningValueRevision)
        .where(
            WarningValueRevision.date == day,
            WarningValueRevision.region == region,
            WarningValueRevision.source == source,
            WarningValueRevision.syndrome == syndrome,
        )
        .order_by(WarningValueRevision.version)
    ).all()
    matrix, regions = read_series(session, [(source, syndrome, 1)], day)[(source, syndrome)]
    current = None
    if region in regions:
        v = matrix[0, regions.index(region)]
        current = None if np.isnan(v) else float(v)
    versions = [{"version": 1, "count": revisions[0].old_count, "batch": None}] if revisions else []
    for r in revisions:
        versions.append({"version": r.version, "count": r.new_count, "batch": r.batch_id})
    if not versions:
        versions = [{"version": 1, "count": current, "batch": None}]
    return versions


# -- configurations ---------------------------------------------------------------------------


def _config_dict(c: WarningConfig) -> dict[str, Any]:
    return {
        "syndrome": c.syndrome,
        "source": c.source,
        "method": c.method,
        "params": c.params,
        "history_days": c.history_days,
        "active": c.active,
    }


def set_config(
    session: Session,
    syndrome: str,
    source: str,
    method: str,
    params: Mapping[str, Any] | None = None,
    *,
    actor: Actor,
    active: bool = True,
) -> dict[str, Any]:
    """Create or change how one syndrome from one source is watched."""
    require(actor, "write")
    if source not in SOURCES:
        raise InputError([Problem(f"unknown source {source!r}", f"未知的来源 {source!r}")])
    config = DetectionConfig(syndrome, source, method, dict(params or {}))
    config.check()
    row = session.scalar(
        select(WarningConfig).where(
            WarningConfig.syndrome == syndrome, WarningConfig.source == source
        )
    )
    if row is None:
        row = WarningConfig(syndrome=syndrome, source=source)
        session.add(row)
    row.method = method
    row.params = dict(config.params)
    row.history_days = config.history
    row.active = active
    session.flush()
    return _config_dict(row)


def list_configs(session: Session) -> list[dict[str, Any]]:
    return [
        _config_dict(c)
        for c in session.scalars(
            select(WarningConfig).order_by(WarningConfig.syndrome, WarningConfig.source)
        )
    ]


def _ensure_configs(session: Session, actor: Actor) -> list[WarningConfig]:
    """Every (source, syndrome) with data gets the default configuration if it has none."""
    have = {(c.source, c.syndrome): c for c in session.scalars(select(WarningConfig))}
    pairs = session.execute(
        select(WarningSeriesBlock.source, WarningSeriesBlock.syndrome).distinct()
    ).all()
    for source, syndrome in pairs:
        if (source, syndrome) not in have:
            d = default_config(syndrome, source)
            row = WarningConfig(
                syndrome=syndrome,
                source=source,
                method=d.method,
                params=dict(d.params),
                history_days=d.history,
                active=True,
            )
            session.add(row)
            have[(source, syndrome)] = row
    session.flush()
    return [c for c in have.values() if c.active]


# -- detection runs ---------------------------------------------------------------------------


def _run_day(
    session: Session,
    day: date,
    actor: Actor,
    client: Any,
    scheduler: str,
    min_level: str = DEFAULT_MIN_LEVEL,
) -> dict[str, Any]:
    clock = [time.perf_counter()]
    seconds: dict[str, float] = {}

    def lap(name: str) -> None:
        clock.append(time.perf_counter())
        seconds[name] = round(clock[-1] - clock[-2], 3)

    configs = _ensure_configs(session, actor)
    series = read_series(session, [(c.source, c.syndrome, c.history_days) for c in configs], day)
    groups = []
    for c in configs:
        matrix, regions = series[(c.source, c.syndrome)]
        if regions:
            groups.append(
                SeriesGroup(
                    DetectionConfig(c.syndrome, c.source, c.method, c.params), matrix, regions
                )
            )
    lap("read")
    signals, stats = detect_day_stats(groups, np.datetime64(day, "D"), client=client)
    lap("detect")
    run = session.scalar(select(WarningRun).where(WarningRun.run_date == day))
    if run is None:
        run = WarningRun(run_date=day, actor=actor.username, times_run=1)
        session.add(run)
    else:
        run.times_run += 1
        run.actor = actor.username
        session.execute(delete(WarningSignal).where(WarningSignal.run_id == run.id))
    run.started_at = utcnow()
    run.stale = False
    run.series, run.missing, run.signals = stats["series"], stats["missing"], stats["signals"]
    run.scheduler = scheduler
    session.flush()
    if len(signals):
        rows = signals.assign(
            run_id=run.id, date=day, single_case=signals["single_case"].astype(bool)
        )
        records = rows.to_dict("records")
        for r in records:
            for k in ("observed", "expected", "threshold", "score", "p_value"):
                v = r[k]
                r[k] = None if v is None or not np.isfinite(v) else float(v)
        session.execute(insert(WarningSignal), records)
    lap("store_signals")
    created, updated, watched = _fuse_window(session, day, actor, min_level, series)
    lap("fuse_and_alerts")
    run.alerts = len(created) + len(updated)
    run.finished_at = utcnow()
    run.notes = {"seconds": seconds, "below_alert_level": watched}
    return {
        "date": day.isoformat(),
        "series": stats["series"],
        "missing": stats["missing"],
        "signals": stats["signals"],
        "alerts_new": len(created),
        "alerts_updated": len(updated),
        "below_alert_level": watched,
        "times_run": run.times_run,
        "seconds": seconds,
        "new_alert_ids": created,
    }


def run_day(
    day: date | str | None = None,
    *,
    db: str | None = None,
    actor: Actor = LOCAL_ADMIN,
    scheduler: str | None = None,
    client: Any = None,
    notify: bool = True,
    min_level: str = DEFAULT_MIN_LEVEL,
    policy: RetryPolicy | None = None,
) -> dict[str, Any]:
    """Run the day's detection for every configured series, store signals, fuse into alerts.

    Running a day again replaces its signals and updates (never duplicates) its alerts.
    ``scheduler`` is a Dask scheduler address (or pass a ``client``). New alerts are queued for
    notification and delivered in a background thread after the commit (``notify``); the
    returned dict holds that thread as ``"_delivery"`` (not JSON) for callers that wait.
    """
    require(actor, "write")
    when = _day(day)
    target = client if client is not None else scheduler
    with session_scope(db, actor=actor.username) as session:
        result = _run_day(session, when, actor, target, scheduler or "", min_level)
        queued = _queue_notifications(session, result["new_alert_ids"])
    result["notifications_queued"] = queued
    if notify and queued:
        result["_delivery"] = start_delivery(db, policy=policy)
    return result


def run_due(
    day: date | str | None = None,
    *,
    db: str | None = None,
    actor: Actor = LOCAL_ADMIN,
    scheduler: str | None = None,
    notify: bool = True,
    min_level: str = DEFAULT_MIN_LEVEL,
) -> list[dict[str, Any]]:
    """Run ``day`` and every earlier day whose run went stale because late data arrived."""
    when = _day(day)
    with session_scope(db, actor=actor.username) as session:
        stale = list(
            session.scalars(
                select(WarningRun.run_date).where(
                    WarningRun.stale.is_(True), WarningRun.run_date != when
                )
            )
        )
    return [
        run_day(d, db=db, actor=actor, scheduler=scheduler, notify=notify, min_level=min_level)
        for d in [*sorted(stale), when]
    ]


def _neighbours(session: Session) -> dict[str, set[str]]:
    return _neighbour_cache(tuple(county_codes(session)))


_NEIGHBOURS: dict[tuple[str, ...], dict[str, set[str]]] = {}


def _neighbour_cache(codes: tuple[str, ...]) -> dict[str, set[str]]:
    if codes not in _NEIGHBOURS:
        try:
            _NEIGHBOURS[codes] = neighbours_within(codes)
        except Exception:  # a county without a boundary: fuse within counties only
            _NEIGHBOURS[codes] = {c: set() for c in codes}
    return _NEIGHBOURS[codes]


#: days of stored history (before the fusion window) behind the estimated source correlation
CORRELATION_DAYS = 28
#: identifies how the correlation stored with an alert's evidence was estimated
CORRELATION_VERSION = "county-residuals-v1"


def source_correlations(
    series: Mapping[tuple[str, str], tuple[np.ndarray, list[str]]],
    *,
    days: int = CORRELATION_DAYS,
    skip_last: int = FUSION_WINDOW_DAYS,
    syndromes: Iterable[str] | None = None,
) -> dict[str, SourceCorrelation]:
    """Per syndrome, the correlation between its sources estimated from the stored counts.

    ``series`` is what :func:`read_series` returned for the run: (source, syndrome) -> matrix
    (days ending on the run day x counties). The ``days`` days before the last ``skip_last``
    (the fusion window, where today's outbreak may be) are used, on the counties the sources
    share, pooled over counties (:func:`healthwatch.warning.fusion.correlation_from_counts`).
    Syndromes with one source need no correlation and get none; ``syndromes`` limits the
    estimate to those (the run asks only for syndromes whose signals could be fused).
    """
    from healthwatch.warning.fusion import correlation_from_counts

    wanted = None if syndromes is None else set(syndromes)
    by_syndrome: dict[str, list[tuple[str, np.ndarray, list[str]]]] = {}
    for (source, syndrome), (matrix, regions) in series.items():
        if wanted is not None and syndrome not in wanted:
            continue
        if regions and matrix.shape[0] > skip_last:
            by_syndrome.setdefault(syndrome, []).append((source, matrix, regions))
    out: dict[str, SourceCorrelation] = {}
    for syndrome, members in by_syndrome.items():
        if len(members) < 2:
            continue
        shared = sorted(set.intersection(*(set(r) for _, _, r in members)))
        rows = min(days, *(m.shape[0] - skip_last for _, m, _ in members))
        if not shared or rows < 2:
            continue
        counts = {}
        for source, matrix, regions in sorted(members, key=lambda m: m[0]):
            cols = pd.Index(regions).get_indexer(shared)
            end = matrix.shape[0] - skip_last
            counts[source] = matrix[end - rows : end][:, cols]
        out[syndrome] = correlation_from_counts(counts)
    return out


def _correlation_evidence(
    correlation: SourceCorrelation | None, sources: Sequence[str], day: date
) -> dict[str, Any] | None:
    """What an alert keeps of the correlation its combined p-value used (JSON-ready)."""
    if correlation is None or len(sources) < 2:
        return None
    index = {s: i for i, s in enumerate(correlation.sources)}
    pairs = [
        [
            int(correlation.n_pairs[index[a], index[b]]) if a in index and b in index else 0
            for b in sources
        ]
        for a in sources
    ]
    return {
        "version": CORRELATION_VERSION,
        "sources": list(sources),
        "matrix": [[round(float(v), 4) for v in row] for row in correlation.sub(sources)],
        "n_pairs": pairs,
        "through": (day - timedelta(days=FUSION_WINDOW_DAYS)).isoformat(),
    }


def _fuse_window(
    session: Session,
    day: date,
    actor: Actor,
    min_level: str,
    series: Mapping[tuple[str, str], tuple[np.ndarray, list[str]]] | None = None,
) -> tuple[list[int], list[int], int]:
    """Fuse the window's signals into alerts, per syndrome with its sources' correlation.

    ``series``: the run's stored counts (:func:`read_series`), from which the correlation of
    each syndrome that has signals of two or more sources to fuse is estimated
    (:func:`source_correlations`); without them sources are taken as independent.
    """
    start = day - timedelta(days=FUSION_WINDOW_DAYS - 1)
    rows = session.execute(
        select(
            WarningSignal.region,
            WarningSignal.date,
            WarningSignal.source,
            WarningSignal.syndrome,
            WarningSignal.method,
            WarningSignal.observed,
            WarningSignal.expected,
            WarningSignal.p_value,
            WarningSignal.score,
            WarningSignal.single_case,
        ).where(WarningSignal.date >= start, WarningSignal.date <= day)
    ).all()
    if not rows:
        return [], [], 0
    frame = pd.DataFrame(
        rows,
        columns=[
            "region",
            "date",
            "source",
            "syndrome",
            "method",
            "observed",
            "expected",
            "p_value",
            "score",
            "single_case",
        ],
    )
    frame["date"] = pd.to_datetime(frame["date"])
    frame["single_case"] = frame["single_case"].astype(bool)
    for column in ("observed", "expected", "p_value", "score"):
        frame[column] = frame[column].astype(float)
    neighbours = _neighbours(session)
    frame = frame[integrate.could_fuse(frame, neighbours, integrate.default_rules())]
    several = frame.groupby("syndrome")["source"].nunique()
    correlations = (
        source_correlations(series, syndromes=several.index[several > 1])
        if series is not None
        else {}
    )
    rules = replace(integrate.default_rules(), correlations=correlations)
    fused = integrate.fuse(frame.reset_index(drop=True), neighbours, rules)
    for a in fused:
        evidence = _correlation_evidence(correlations.get(a["syndrome"]), a.get("sources", []), day)
        if evidence is not None:
            a["correlation"] = evidence
    # only alerts with a signal on this day are raised or extended by this day's run
    fused = [a for a in fused if a["last_date"] == day.isoformat()]
    raised = [a for a in fused if LEVEL_RANK.get(a["level"], 0) >= LEVEL_RANK[min_level]]
    created: list[int] = []
    updated: list[int] = []
    for a in raised:
        alert_id, is_new = _upsert_alert(session, "fused", a, actor)
        (created if is_new else updated).append(alert_id)
    return created, updated, len(fused) - len(raised)


def _upsert_alert(
    session: Session, kind: str, a: Mapping[str, Any], actor: Actor
) -> tuple[int, bool]:
    """Create the alert, or update the open alert of the same episode (idempotent re-runs)."""
    key = f"{kind}:{a['syndrome']}:{a['region']}"
    first = date.fromisoformat(a["first_date"])
    last = date.fromisoformat(a["last_date"])
    existing = session.scalar(
        select(WarningAlert)
        .where(WarningAlert.dedupe_key == key)
        .order_by(WarningAlert.last_date.desc(), WarningAlert.id.desc())
        .limit(1)
    )
    evidence = {"sources": a.get("sources", []), "signals": a.get("signals", [])}
    for extra in ("cluster", "correlation"):
        if extra in a:
            evidence[extra] = a[extra]
    regions = a.get("regions") or [a["region"]]
    same_episode = existing is not None and existing.last_date >= first - timedelta(
        days=FUSION_WINDOW_DAYS
    )
    if existing is not None and same_episode and existing.status != "closed":
        if existing.last_date > last:
            return existing.id, False  # a re-run of an earlier day: the alert already knows more
        if LEVEL_RANK.get(a["level"], 0) >= LEVEL_RANK.get(existing.level, 0):
            existing.level = a["level"]
        existing.first_date = min(existing.first_date, first)
        existing.last_date = last
        existing.p_value = a.get("p_value")
        existing.method = a.get("method", "")
        existing.reason_zh, existing.reason_en = a.get("reason_zh", ""), a.get("reason_en", "")
        existing.regions = sorted(set(existing.regions) | set(regions))
        if existing.evidence != evidence:
            existing.evidence = evidence
            existing.updated_at = utcnow()
        return existing.id, False
    if existing is not None and same_episode and existing.last_date >= last:
        return existing.id, False  # closed, and nothing new since
    now = utcnow()
    alert = WarningAlert(
        kind=kind,
        dedupe_key=key,
        syndrome=a["syndrome"],
        region=a["region"],
        regions=list(regions),
        first_date=first,
        last_date=last,
        level=a["level"],
        status="new",
        p_value=a.get("p_value"),
        method=a.get("method", ""),
        reason_zh=a.get("reason_zh", ""),
        reason_en=a.get("reason_en", ""),
        evidence=evidence,
        created_at=now,
        updated_at=now,
        due_at=now + VERIFY_WITHIN,
        assigned_to="",
    )
    session.add(alert)
    session.flush()
    session.add(
        WarningAlertEvent(
            alert_id=alert.id,
            at=now,
            actor=actor.username,
            action="raise",
            from_status="",
            to_status="new",
            note=a.get("reason_zh", ""),
        )
    )
    return alert.id, True


def scan_day(
    day: date | str | None = None,
    *,
    syndrome: str,
    source: str,
    db: str | None = None,
    actor: Actor = LOCAL_ADMIN,
    days: int = 56,
    max_days: int = 7,
    max_spatial_share: float = 0.5,
    replicates: int = 999,
    alpha: float = 0.05,
    seed: int = 0,
) -> dict[str, Any]:
    """Kulldorff's prospective space-time permutation scan on one series over all counties.

    The last ``days`` days are the study period; clusters ending on ``day`` with
    ``p <= alpha`` become alerts (kind ``cluster``) listing their counties.
    """
    require(actor, "write")
    when = _day(day)
    with session_scope(db, actor=actor.username) as session:
        result = _scan(
            session,
            when,
            syndrome=syndrome,
            source=source,
            actor=actor,
            days=days,
            max_days=max_days,
            max_spatial_share=max_spatial_share,
            replicates=replicates,
            alpha=alpha,
            seed=seed,
        )
        result["notifications_queued"] = _queue_notifications(session, result["alerts_new"])
    return result


def _scan(
    session: Session,
    when: date,
    *,
    syndrome: str,
    source: str,
    actor: Actor,
    days: int = 56,
    max_days: int = 7,
    max_spatial_share: float = 0.5,
    replicates: int = 999,
    alpha: float = 0.05,
    seed: int = 0,
) -> dict[str, Any]:
    """:func:`scan_day` inside an open session (the demo scans in its own session)."""
    matrix, regions = read_series(session, [(source, syndrome, days)], when)[(source, syndrome)]
    if not regions:
        raise NotFoundError(
            f"No data for {syndrome} from {source}.", f"没有 {source} 的 {syndrome} 数据。"
        )
    from healthwatch.warning.geography import centroids

    cases = np.nan_to_num(matrix, nan=0.0).astype(np.int64)
    clusters = integrate.scan_clusters(
        cases,
        centroids(regions),
        max_spatial_share=max_spatial_share,
        max_days=max_days,
        n_replicates=replicates,
        seed=seed,
    )
    first_day = when - timedelta(days=days - 1)
    out, created = [], []
    for c in clusters:
        counties = [regions[i] for i in c["regions"]]
        start = first_day + timedelta(days=c["start_day"])
        end = first_day + timedelta(days=c["end_day"])
        entry = {**c, "counties": counties, "start": start.isoformat(), "end": end.isoformat()}
        out.append(entry)
        if c["p_value"] <= alpha and end == when:
            alert = {
                "region": regions[c["center"]] if "center" in c else counties[0],
                "regions": counties,
                "syndrome": syndrome,
                "first_date": start.isoformat(),
                "last_date": end.isoformat(),
                "sources": [source],
                "signals": [],
                "cluster": entry,
                "p_value": c["p_value"],
                "method": "space-time permutation scan",
                "level": "orange" if c["p_value"] <= 0.01 else "yellow",
                "reason_zh": f"时空聚集：{len(counties)} 个区县，观察 {c['observed']:.0f} 例，"
                f"期望 {c['expected']:.1f} 例，P = {c['p_value']:.3f}",
                "reason_en": f"space-time cluster of {len(counties)} counties: observed "
                f"{c['observed']:.0f}, expected {c['expected']:.1f}, p = {c['p_value']:.3f}",
            }
            alert_id, is_new = _upsert_alert(session, "cluster", alert, actor)
            if is_new:
                created.append(alert_id)
    return {
        "date": when.isoformat(),
        "syndrome": syndrome,
        "source": source,
        "clusters": out,
        "alerts_new": created,
    }


# -- alerts -------------------------------------------------------------------------------------


def alert_reason(a: WarningAlert) -> tuple[str, str]:
    """(zh, en) reason of ``a``, written again from its structured fields where its kind allows.

    Why not the stored text: alerts raised before the reasons named things read ``就 fever
    发出信号`` and ``in 210302``; written again, every alert reads with names. The sources'
    independent groups are the sources themselves (the platform's rules group none). Alerts of
    other kinds (scan clusters) keep their stored text, which names no code.
    """
    evidence = a.evidence or {}
    sources = [str(s) for s in evidence.get("sources", [])]
    if a.kind != "fused" or a.method not in ("single_case", "fisher", "stouffer"):
        return a.reason_zh, a.reason_en
    names_zh, names_en = integrate.reason_names()
    if a.method == "single_case":
        return single_case_reason(
            region=a.region,
            syndrome=a.syndrome,
            n_cases=len(evidence.get("signals", [])),
            sources=sources,
            names_zh=names_zh,
            names_en=names_en,
        )
    return fused_reason(
        first=a.first_date,
        last=a.last_date,
        n_groups=len(set(sources)),
        sources=sources,
        region=a.region,
        others=[r for r in a.regions or [] if r != a.region],
        syndrome=a.syndrome,
        p=a.p_value,
        method=a.method,
        corrected="correlation" in evidence,
        level=a.level,
        names_zh=names_zh,
        names_en=names_en,
    )


def _alert_dict(a: WarningAlert, now: datetime, *, evidence: bool = False) -> dict[str, Any]:
    reason_zh, reason_en = alert_reason(a)
    sources = [str(s) for s in (a.evidence or {}).get("sources", [])]
    out: dict[str, Any] = {
        "id": a.id,
        "kind": a.kind,
        "syndrome": a.syndrome,
        "syndrome_zh": SYNDROMES[a.syndrome].name_zh if a.syndrome in SYNDROMES else a.syndrome,
        "syndrome_en": SYNDROMES[a.syndrome].name_en if a.syndrome in SYNDROMES else a.syndrome,
        "region": a.region,
        "regions": a.regions,
        "first_date": a.first_date.isoformat(),
        "last_date": a.last_date.isoformat(),
        "level": a.level,
        "status": a.status,
        "status_zh": STATUSES.get(a.status, a.status),
        "p_value": a.p_value,
        "method": a.method,
        "method_zh": method_name(a.method, "zh"),
        "method_en": method_name(a.method, "en"),
        "sources": sources,
        "sources_zh": [SOURCES[s].name_zh if s in SOURCES else s for s in sources],
        "sources_en": [SOURCES[s].name_en if s in SOURCES else s for s in sources],
        "reason_zh": reason_zh,
        "reason_en": reason_en,
        "created_at": iso_utc(a.created_at),
        "due_at": iso_utc(a.due_at),
        "verified_at": iso_utc(a.verified_at) if a.verified_at else None,
        "assigned_to": a.assigned_to,
        "overdue": is_overdue(a.status, a.due_at, now),
    }
    if evidence:
        out["evidence"] = a.evidence
    return out


def _visible(actor: Actor, alert: WarningAlert) -> bool:
    return any(in_region_scope(actor, r) for r in (alert.regions or [alert.region]))


def list_alerts(
    session: Session,
    *,
    actor: Actor = LOCAL_ADMIN,
    status: str | None = None,
    region: str | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Alerts the actor may see (duty officers: their region only), newest first.

    status: one status, ``open`` (not closed) or ``overdue``.
    """
    require(actor, "read")
    if status is not None and status not in (*STATUSES, "open", "overdue"):
        raise InputError(
            [
                Problem(
                    f"unknown status {status!r}; choose one of "
                    f"{', '.join(STATUSES)}, open, overdue",
                    f"未知状态 {status!r}；可选：{'、'.join(STATUSES)}、open、overdue",
                    field="status",
                )
            ],
            *READ_REFUSED,
        )
    now = now or datetime.now(UTC)
    query = select(WarningAlert).order_by(WarningAlert.id.desc())
    if status in STATUSES:
        query = query.where(WarningAlert.status == status)
    elif status in ("open", "overdue"):
        query = query.where(WarningAlert.status.in_(sorted(OPEN)))
    out = []
    for a in session.scalars(query):
        if not _visible(actor, a):
            continue
        if region is not None and not any(r.startswith(_prefix(region)) for r in a.regions):
            continue
        row = _alert_dict(a, now)
        if status == "overdue" and not row["overdue"]:
            continue
        out.append(row)
    return out


def _prefix(adcode: str) -> str:
    return in_region_prefix(adcode)


def in_region_prefix(adcode: str) -> str:
    """The part of an adcode shared by everything under it (as :func:`in_region_scope`)."""
    if adcode.endswith("0000"):
        return adcode[:2]
    if adcode.endswith("00"):
        return adcode[:4]
    return adcode


def _get_alert(session: Session, alert_id: int, actor: Actor) -> WarningAlert:
    alert = session.get(WarningAlert, alert_id)
    if alert is None or not _visible(actor, alert):
        # an alert outside the actor's region is reported as absent: its existence is not
        # the actor's business
        raise NotFoundError(f"No alert {alert_id}.", f"没有编号为 {alert_id} 的预警。")
    return alert


def alert_detail(session: Session, alert_id: int, *, actor: Actor = LOCAL_ADMIN) -> dict[str, Any]:
    """One alert with its evidence and every lifecycle event."""
    require(actor, "read")
    alert = _get_alert(session, alert_id, actor)
    out = _alert_dict(alert, datetime.now(UTC), evidence=True)
    # the raise step's note is the system's reason (stored in Chinese only): both languages
    # are given from the alert's reason; a person's note is given as it was written
    raised = (out["reason_zh"], out["reason_en"])
    out["events"] = [
        {
            "at": iso_utc(e.at),
            "actor": e.actor,
            "action": e.action,
            "from": e.from_status,
            "to": e.to_status,
            "note": e.note,
            "note_zh": raised[0] if e.action == "raise" else e.note,
            "note_en": raised[1] if e.action == "raise" else e.note,
        }
        for e in session.scalars(
            select(WarningAlertEvent)
            .where(WarningAlertEvent.alert_id == alert_id)
            .order_by(WarningAlertEvent.id)
        )
    ]
    out["notifications"] = [
        {
            "channel": n.channel,
            "address": n.address,
            "status": n.status,
            "attempts": n.attempts,
            "last_error": n.last_error,
        }
        for n in session.scalars(
            select(WarningNotification).where(WarningNotification.alert_id == alert_id)
        )
    ]
    return out


#: days of each source's counts shown with an alert (ending on its last day)
EVIDENCE_DAYS = 28


def _source_evidence(
    session: Session, alert: WarningAlert, source: str, days: int
) -> dict[str, Any] | None:
    """One source's daily counts for the alert's county with the method's expected values and
    thresholds on each day (the configured method run again over those days)."""
    from healthwatch.surveillance.engine import run as run_engine
    from healthwatch.surveillance.series import Counts

    row = session.scalar(
        select(WarningConfig).where(
            WarningConfig.syndrome == alert.syndrome, WarningConfig.source == source
        )
    )
    config = (
        DetectionConfig(alert.syndrome, source, row.method, row.params)
        if row is not None
        else default_config(alert.syndrome, source)
    )
    need = config.history
    total = need + days - 1
    matrix, regions = read_series(session, [(source, alert.syndrome, total)], alert.last_date)[
        (source, alert.syndrome)
    ]
    if alert.region not in regions:
        return None
    column = matrix[:, [regions.index(alert.region)]]
    result = run_engine(
        Counts(observed=column, freq=365),
        config.method,
        range=np.arange(need, total + 1),
        **dict(config.params),
    )
    first = alert.last_date - timedelta(days=days - 1)
    signal_days = {
        d.isoformat()
        for d in session.scalars(
            select(WarningSignal.date).where(
                WarningSignal.region == alert.region,
                WarningSignal.source == source,
                WarningSignal.syndrome == alert.syndrome,
                WarningSignal.date >= first,
                WarningSignal.date <= alert.last_date,
            )
        )
    }
    dates = [(first + timedelta(days=k)).isoformat() for k in range(days)]

    def values(a: np.ndarray) -> list[float | None]:
        return [None if not np.isfinite(v) else float(v) for v in a[:, 0]]

    info = SOURCES.get(source)
    return {
        "source": source,
        "source_zh": info.name_zh if info else source,
        "source_en": info.name_en if info else source,
        "region": alert.region,
        "method": config.method,
        "dates": dates,
        "observed": values(result.observed),
        "expected": values(result.expected),
        "threshold": values(result.upperbound),
        "alarm": [bool(v) for v in result.alarm[:, 0]],
        "signal": [d in signal_days for d in dates],
    }


def alert_evidence(
    session: Session, alert_id: int, *, actor: Actor = LOCAL_ADMIN, days: int = EVIDENCE_DAYS
) -> dict[str, Any]:
    """:func:`alert_detail` plus, per source, the county's daily counts over the last ``days``
    days with the method's expected values and thresholds (what a duty officer looks at first:
    how far above its usual level each source went, and since when)."""
    detail = alert_detail(session, alert_id, actor=actor)
    alert = _get_alert(session, alert_id, actor)
    sources = detail["sources"] or sorted({s.get("source", "") for s in detail.get("signals", [])})
    series = [_source_evidence(session, alert, src, days) for src in sources if src in SOURCES]
    detail["series"] = [s for s in series if s is not None]
    detail["actions"] = possible_actions(alert.status)
    return detail


def possible_actions(status: str) -> list[str]:
    """The lifecycle steps open from ``status`` (assigning excepted: it needs a name)."""
    from healthwatch.warning.lifecycle import ACTIONS

    return [a for a, (_, moves) in ACTIONS.items() if status in moves and a != "assign"]


def open_levels(session: Session, *, actor: Actor = LOCAL_ADMIN) -> dict[str, str]:
    """County -> the highest level among the open alerts the actor may see that name it."""
    out: dict[str, str] = {}
    for a in list_alerts(session, actor=actor, status="open"):
        for county in a["regions"] or [a["region"]]:
            if LEVEL_RANK[a["level"]] > LEVEL_RANK.get(out.get(county, ""), -1):
                out[county] = a["level"]
    return out


def change_alert(
    session: Session,
    alert_id: int,
    action: str,
    *,
    actor: Actor,
    note: str = "",
    assignee: str | None = None,
) -> dict[str, Any]:
    """Take one lifecycle step (``acknowledge``, ``investigate``, ``confirm``, ``rule_out``,
    ``close``, ``assign``), recording who, when and the note; invalid steps are refused."""
    alert = _get_alert(session, alert_id, actor)
    for region in alert.regions or [alert.region]:
        if in_region_scope(actor, region):
            require(actor, "answer_alerts", region)
            break
    target = next_status(alert.status, action)
    if action == "assign":
        if not assignee:
            raise InputError(
                [Problem("say who the alert is assigned to", "请指定负责人", field="assignee")]
            )
        alert.assigned_to = assignee
    now = utcnow()
    previous = alert.status
    alert.status = target
    alert.updated_at = now
    if target in ("investigating", "confirmed", "ruled_out") and alert.verified_at is None:
        alert.verified_at = now
    if target == "closed":
        alert.closed_at = now
    text = note if action != "assign" else f"{assignee}: {note}".rstrip(": ")
    session.add(
        WarningAlertEvent(
            alert_id=alert.id,
            at=now,
            actor=actor.username,
            action=action,
            from_status=previous,
            to_status=target,
            note=text,
        )
    )
    session.flush()
    return alert_detail(session, alert_id, actor=actor)


# -- notifications ----------------------------------------------------------------------------


def add_recipient(
    session: Session,
    *,
    name: str,
    channel: str,
    address: str,
    region: str = "210000",
    min_level: str = "yellow",
    actor: Actor,
) -> dict[str, Any]:
    """Someone to tell about new alerts in ``region`` of at least ``min_level``."""
    require(actor, "write", region)
    problems = []
    if channel not in ("webhook", "email"):
        problems.append(
            Problem(
                "channel must be webhook or email", "渠道须为 webhook 或 email", field="channel"
            )
        )
    if min_level not in LEVEL_RANK:
        problems.append(
            Problem(
                "min_level must be blue, yellow, orange or red",
                "min_level 须为 blue、yellow、orange 或 red",
                field="min_level",
            )
        )
    if channel == "webhook" and not address.startswith(("http://", "https://")):
        problems.append(Problem("a webhook is an http(s) URL", "webhook 须为 http(s) 地址"))
    if channel == "email" and "@" not in address:
        problems.append(Problem("not an e-mail address", "不是电子邮件地址", field="address"))
    if problems:
        raise InputError(problems)
    row = WarningRecipient(
        name=name, channel=channel, address=address, region=region, min_level=min_level
    )
    session.add(row)
    session.flush()
    return {"id": row.id, "name": name, "channel": channel, "address": address, "region": region}


def _queue_notifications(session: Session, alert_ids: Sequence[int]) -> int:
    if not alert_ids:
        return 0
    recipients = list(session.scalars(select(WarningRecipient).where(WarningRecipient.active)))
    queued = 0
    for alert in session.scalars(select(WarningAlert).where(WarningAlert.id.in_(alert_ids))):
        for r in recipients:
            scope = Actor(r.name, LOCAL_ADMIN.role, r.region)
            if not _visible(scope, alert):
                continue
            if LEVEL_RANK[alert.level] < LEVEL_RANK[r.min_level]:
                continue
            session.add(
                WarningNotification(
                    alert_id=alert.id,
                    recipient_id=r.id,
                    channel=r.channel,
                    address=r.address,
                    status="pending",
                    attempts=0,
                    last_error="",
                    created_at=utcnow(),
                )
            )
            queued += 1
    return queued


def _message(alert: WarningAlert) -> tuple[str, str, dict[str, Any]]:
    name = SYNDROMES[alert.syndrome].name_zh if alert.syndrome in SYNDROMES else alert.syndrome
    subject = f"[预警 {alert.level}] {name} {alert.region} {alert.last_date} / alert #{alert.id}"
    text = (
        f"{alert.reason_zh}\n{alert.reason_en}\n"
        f"区县 county: {', '.join(alert.regions)}\n"
        f"日期 dates: {alert.first_date} – {alert.last_date}\n"
        f"请在 24 小时内核实 / verify within 24 hours: healthwatch warning ack {alert.id}\n"
    )
    payload = {
        "alert": alert.id,
        "kind": alert.kind,
        "syndrome": alert.syndrome,
        "syndrome_zh": name,
        "region": alert.region,
        "regions": alert.regions,
        "level": alert.level,
        "first_date": alert.first_date.isoformat(),
        "last_date": alert.last_date.isoformat(),
        "p_value": alert.p_value,
        "reason_zh": alert.reason_zh,
        "reason_en": alert.reason_en,
    }
    return subject, text, payload


def deliver_pending(
    db: str | None = None,
    *,
    policy: RetryPolicy | None = None,
    smtp: str | None = None,
    sender: str | None = None,
) -> dict[str, int]:
    """Deliver every pending notification, recording each try; returns counts by outcome.

    Each notification is tried under ``policy`` (default 3 tries, backoff 0.5 s doubling,
    5 s timeout); the SMTP server is ``smtp`` or ``$HEALTHWATCH_SMTP`` (host:port).
    """
    policy = policy or RetryPolicy()
    smtp = smtp or os.environ.get(SMTP_ENV, "localhost:25")
    sender = sender or os.environ.get(SMTP_FROM_ENV, "healthwatch@localhost")
    with session_scope(db, actor="system:notify") as session:
        pending = [
            (n.id, n.channel, n.address, n.alert_id)
            for n in session.scalars(
                select(WarningNotification).where(WarningNotification.status == "pending")
            )
        ]
        messages = {
            a.id: _message(a)
            for a in session.scalars(
                select(WarningAlert).where(WarningAlert.id.in_({p[3] for p in pending}))
            )
        }
    outcome = {"sent": 0, "failed": 0}
    for notification_id, channel, address, alert_id in pending:
        subject, text, payload = messages[alert_id]
        send: Callable[[float], None]
        if channel == "webhook":
            send = functools.partial(_send_webhook, address, payload)
        else:
            send = functools.partial(_send_email, address, subject, text, smtp=smtp, sender=sender)
        attempts = deliver(send, policy)
        ok = attempts[-1].ok
        with session_scope(db, actor="system:notify") as session:
            n = session.get(WarningNotification, notification_id)
            assert n is not None
            base = n.attempts
            for a in attempts:
                session.add(
                    WarningDeliveryAttempt(
                        notification_id=notification_id,
                        attempt=base + a.attempt,
                        at=utcnow(),
                        ok=a.ok,
                        error=a.error,
                        seconds=a.seconds,
                    )
                )
            n.attempts = base + len(attempts)
            n.status = "sent" if ok else "failed"
            n.last_error = "" if ok else attempts[-1].error
            if ok:
                n.delivered_at = utcnow()
        outcome["sent" if ok else "failed"] += 1
    return outcome


def _send_webhook(url: str, payload: Mapping[str, Any], timeout: float) -> None:
    send_webhook(url, payload, timeout)


def _send_email(
    to: str, subject: str, text: str, timeout: float, *, smtp: str, sender: str
) -> None:
    send_email(to, subject, text, server=smtp, sender=sender, timeout=timeout)


def start_delivery(db: str | None = None, **kwargs: Any) -> threading.Thread:
    """Deliver pending notifications in a background thread (the run does not wait)."""
    thread = threading.Thread(
        target=_deliver_quietly, args=(db,), kwargs=kwargs, name="healthwatch-notify", daemon=True
    )
    thread.start()
    return thread


def _deliver_quietly(db: str | None, **kwargs: Any) -> None:
    try:
        deliver_pending(db, **kwargs)
    except Exception:
        return


def retry_failed(session: Session, *, actor: Actor) -> int:
    """Put failed notifications back in the queue (``warning notify --retry-failed``)."""
    require(actor, "write")
    rows = list(
        session.scalars(select(WarningNotification).where(WarningNotification.status == "failed"))
    )
    for n in rows:
        n.status = "pending"
    return len(rows)


def notifications(session: Session) -> list[dict[str, Any]]:
    return [
        {
            "id": n.id,
            "alert": n.alert_id,
            "channel": n.channel,
            "address": n.address,
            "status": n.status,
            "attempts": n.attempts,
            "last_error": n.last_error,
        }
        for n in session.scalars(select(WarningNotification).order_by(WarningNotification.id))
    ]


# -- the demo -----------------------------------------------------------------------------------


#: the series the demo scans for space-time clusters on its last day (planted outbreak 4:
#: hand, foot and mouth disease in kindergartens of three Jinzhou counties); about 1-3 s
DEMO_SCANS = (("kindergarten_absence", "rash"),)


def load_demo(session: Session, *, end: date | None = None, run_days: int = 14) -> dict[str, Any]:
    """A year of simulated multi-source data for Liaoning's counties, with planted outbreaks.

    Loads the history (see :mod:`healthwatch.warning.demo_data` for the series and the planted
    outbreaks), runs detection for the last ``run_days`` days, scans :data:`DEMO_SCANS` for
    space-time clusters on the last day and leaves the alerts open (fused and cluster alerts).
    Running it again on a database that already has the demo data changes nothing.
    """
    actor = Actor("demo", LOCAL_ADMIN.role, None)
    end = end or (date.today() - timedelta(days=1))
    already = session.scalar(
        select(func.count())
        .select_from(WarningFeedBatch)
        .where(WarningFeedBatch.origin.like("demo:%"))
    )
    if already:
        return {"loaded": False, "alerts_open": len(list_alerts(session, status="open"))}
    regions = county_codes(session)
    history = demo_history(regions, end)
    for (source, syndrome), matrix in history.matrices.items():
        write_history(session, source, syndrome, history.start, regions, matrix, actor=actor)
    session.add(
        WarningFeedBatch(
            actor=actor.username,
            kind="history",
            origin="demo:simulated",
            rows=0,
            received_at=utcnow(),
        )
    )
    session.flush()
    runs = []
    for k in range(run_days - 1, -1, -1):
        day = end - timedelta(days=k)
        r = _run_day(session, day, actor, None, "")
        runs.append({key: v for key, v in r.items() if key != "new_alert_ids"})
    scans = [
        _scan(session, end, syndrome=syndrome, source=source, actor=actor)
        for source, syndrome in DEMO_SCANS
    ]
    open_alerts = list_alerts(session, status="open")
    return {
        "loaded": True,
        "series": len(DEMO_SERIES) * len(regions),
        "days": int(history.days),
        "start": history.start.isoformat(),
        "end": end.isoformat(),
        "planted": [p.describe(end) for p in PLANTED],
        "runs": runs,
        "scans": [
            {
                "date": x["date"],
                "source": x["source"],
                "syndrome": x["syndrome"],
                "clusters": len(x["clusters"]),
                "alerts_new": len(x["alerts_new"]),
            }
            for x in scans
        ],
        "alerts_open": len(open_alerts),
    }


# -- simulation and assessment (the pure simulator and assessment, on Liaoning's counties) -------

#: the simulator's source names -> the catalogue's codes (so a simulated feed can be ingested)
SIMULATED_SOURCES = {
    "pharmacy": "pharmacy_antipyretic",
    "fever_clinic": "fever_clinic",
    "school_absence": "school_absence",
    "case_reports": "notifiable",
    "lab_positive": "laboratory",
}


def _pure(module: str) -> Any:
    from importlib import import_module

    try:
        return import_module(f"healthwatch.warning.{module}")
    except ImportError:
        from healthwatch.errors import HealthwatchError

        raise HealthwatchError(
            f"healthwatch.warning.{module} is not part of this build yet.",
            f"本版本尚未包含 healthwatch.warning.{module}。",
        ) from None


def simulate_feed(
    *,
    n_regions: int = 100,
    n_days: int = 730,
    n_outbreaks: int = 20,
    seed: int = 0,
    end: date | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulated multi-source ILI feeds for Liaoning's first ``n_regions`` counties.

    Returns the feed (``date,region,source,syndrome,count`` with catalogue codes, ready for
    :func:`ingest_file`) and the planted outbreaks. The series end on ``end`` (default
    yesterday) so that the feed can be loaded (no future dates).
    """
    from healthwatch.warning.geography import centroids

    multisource = _pure("multisource")
    regions = county_codes_builtin()[:n_regions]
    end = end or (date.today() - timedelta(days=1))
    start = end - timedelta(days=n_days - 1)
    sim = multisource.simulate_multisource(
        len(regions),
        n_days,
        n_outbreaks=n_outbreaks,
        coords=centroids(regions),
        region_names=regions,
        start_date=start.isoformat(),
        syndrome="ili",
        seed=seed,
    )
    feed = sim.to_long()
    feed["source"] = feed["source"].map(SIMULATED_SOURCES).fillna(feed["source"])
    return feed, sim.outbreaks


def county_codes_builtin() -> list[str]:
    """Liaoning's 100 county adcodes from the packaged hierarchy, in adcode order."""
    return sorted(r.adcode for r in liaoning_regions() if r.level == "county")


def assess_fusion(
    *,
    n_regions: int = 100,
    n_days: int = 730,
    n_outbreaks: int = 200,
    targets: Sequence[float] = (1.0, 2.0, 4.0),
    replicates: int = 1,
    seed: int = 1000,
) -> list[dict[str, Any]]:
    """Single sources against fused detection at equal false alerts per county-year.

    Calls :func:`healthwatch.warning.assess.compare_detectors` (simulated outbreak and
    outbreak-free data, every detector calibrated to each target false-alert rate) and returns
    its rows as JSON-ready dicts: probability of detection, median days to detection and false
    alerts per county-year per detector.
    """
    assess = _pure("assess")
    frame = assess.compare_detectors(
        n_regions=n_regions,
        n_days=n_days,
        n_outbreaks=n_outbreaks,
        targets=tuple(float(t) for t in targets),
        replicates=replicates,
        seed=seed,
    )
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()} for r in rows]
