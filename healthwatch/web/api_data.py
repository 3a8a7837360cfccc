"""The indicator-data REST API (``/api/v1/data/...``): thin handlers over the data services.

Import uploads, the Excel template, values, the approval workflow, history and revert, export
and aggregation: each handler passes the caller's actor to the same service function the CLI
(``healthwatch data …``) calls. The services check role and region (``users.require``) on every
write and restrict every read to what the actor may see (inside its region everything, outside
only approved values), so the server decides whatever a client shows or hides.

The reads (values, history, status, aggregate, completeness) are answered from
:func:`~healthwatch.web.api.cached_answer`: every import, revert, submission, approval and
unlock writes an audited row, so the data version moves with each of them, and the key holds the
reader's role and region (:func:`~healthwatch.web.api.scope_key`) because what a reader sees
depends on its region (drafts only inside it).
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path, PurePath
from typing import Annotated, Any

from fastapi import File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile as StarletteUpload

from healthwatch.errors import InputError, Problem
from healthwatch.store.audit import iso_utc
from healthwatch.web.api import _ERRORS as ERROR_RESPONSES
from healthwatch.web.api import AuthDep, cached_answer, scope_key, settings_of
from healthwatch.web.routing import GatedRouter

router = GatedRouter(prefix="/data", tags=["data"], responses=ERROR_RESPONSES)

#: largest accepted upload (a province's year of monthly values is a few MB)
MAX_DATA_UPLOAD = 64 * 1024 * 1024
IMPORT_FORMATS = ("csv", "xlsx", "dhis2-json", "dhis2-csv", "fhir")
EXPORT_MEDIA = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "dhis2-json": ("application/json", "json"),
    "fhir": ("application/fhir+json", "json"),
}
XLSX = EXPORT_MEDIA["xlsx"][0]

REGION_Q = Query(pattern=r"^\d{6}$", description="行政区划代码 / adcode")
PERIOD_Q = Query(pattern=r"^\d{4}(Q[1-4]|\d{2})?$", description="2024, 2024Q1, 202401 / 期间")
_CHUNK = 1 << 20


def iso_utc_text(value: Any) -> Any:
    """A stored moment as ISO 8601 with its UTC offset, as every API answer gives times.

    Why: SQLite hands raw SQL results back as text without a zone
    (``2026-12-02 05:15:16.165927``), PostgreSQL as an aware datetime; a client must get one
    format from both, the one ``/data/history`` and the audit log use.
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return iso_utc(value) if isinstance(value, datetime) else value


def _db(request: Request) -> str | None:
    return settings_of(request).db


def save_upload(upload: StarletteUpload, folder: Path) -> tuple[Path, str]:
    """Stream ``upload`` into ``folder`` (bounded size); returns the path and the user's name."""
    name = PurePath(upload.filename or "").name
    if name in ("", ".", "..") or "\x00" in name or len(name) > 200:
        name = "upload.csv"
    path = folder / name
    size = 0
    with path.open("wb") as out:
        while block := upload.file.read(_CHUNK):
            size += len(block)
            if size > MAX_DATA_UPLOAD:
                raise InputError(
                    [Problem("The file is larger than 64 MB.", "文件超过 64 MB。", file=name)]
                )
            out.write(block)
    return path, name


def run_import(
    upload: StarletteUpload, *, auth_actor: Any, db: str | None, format: str | None, dry_run: bool
) -> dict[str, Any]:
    """Save the upload in a temporary folder, import it, delete the folder."""
    from healthwatch.services.data import import_upload

    if format is not None and format not in IMPORT_FORMATS:
        raise InputError(
            [
                Problem(
                    f"unknown format {format!r} (use one of {', '.join(IMPORT_FORMATS)})",
                    f"未知的格式 {format!r}（可用：{'、'.join(IMPORT_FORMATS)}）",
                    field="format",
                )
            ]
        )
    with tempfile.TemporaryDirectory(prefix="hw-upload-") as tmp:
        path, name = save_upload(upload, Path(tmp))
        result = import_upload(path, name, actor=auth_actor, db=db, format=format, dry_run=dry_run)
    return result.to_json()


# --- import, template, export --------------------------------------------------------------


@router.post("/imports")
def post_import(
    auth: AuthDep,
    request: Request,
    file: Annotated[UploadFile, File(description="CSV, xlsx, DHIS2 JSON/CSV or FHIR / 数据文件")],
    format: Annotated[str | None, Form(description="csv|xlsx|dhis2-json|dhis2-csv|fhir")] = None,
    dry_run: Annotated[bool, Form(description="只校验不写入 / validate only")] = False,
) -> dict[str, Any]:
    """导入指标数据（整体校验，全部成功或全部拒绝）/ Import values, validated whole.

    Accepted: the import summary (inserted, updated, unchanged, warnings). Refused: 422
    ``invalid_input`` listing every problem (file, line, field, reason in zh and en), or 403
    when a row lies outside the caller's region; nothing is written then.
    """
    fmt = format or None
    return run_import(file, auth_actor=auth.actor, db=_db(request), format=fmt, dry_run=dry_run)


def _file_response(path: Path, media: str, filename: str) -> Response:
    from urllib.parse import quote

    disposition = f"attachment; filename*=UTF-8''{quote(filename)}"
    return Response(
        path.read_bytes(), media_type=media, headers={"Content-Disposition": disposition}
    )


@router.get(
    "/template",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "Excel 模板 / the workbook"}},
)
def get_template(
    auth: AuthDep,
    request: Request,
    plan: Annotated[str, Query(max_length=100)],
    region: Annotated[str, REGION_Q],
    year: Annotated[int, Query(ge=2000, le=2100)],
) -> Response:
    """下载 Excel 填报模板 / Download the Excel reporting template (last year's values filled)."""
    from healthwatch.services.data import template

    with tempfile.TemporaryDirectory(prefix="hw-template-") as tmp:
        path = Path(tmp) / "template.xlsx"
        template(path, plan=plan, region=region, year=year, actor=auth.actor, db=_db(request))
        return _file_response(path, XLSX, f"{plan}-{region}-{year}.xlsx")


@router.get(
    "/export",
    response_class=Response,
    responses={
        200: {"content": {m: {} for m, _ in EXPORT_MEDIA.values()}, "description": "文件 / file"}
    },
)
def get_export(
    auth: AuthDep,
    request: Request,
    format: Annotated[str, Query(pattern="^(csv|xlsx|dhis2-json|fhir)$")] = "csv",
    plan: Annotated[str | None, Query(max_length=100)] = None,
    region: Annotated[str | None, REGION_Q] = None,
    period: Annotated[str | None, PERIOD_Q] = None,
) -> Response:
    """导出指标数据（辖区外仅已审核）/ Export values (outside your region only approved ones)."""
    from healthwatch.services.data import export

    media, ext = EXPORT_MEDIA[format]
    with tempfile.TemporaryDirectory(prefix="hw-export-") as tmp:
        path = Path(tmp) / f"export.{ext}"
        export(
            path,
            format=format,
            plan=plan,
            region=region,
            period=period,
            actor=auth.actor,
            db=_db(request),
        )
        name = "-".join(x for x in ("healthwatch", plan, region, period) if x)
        return _file_response(path, media, f"{name}.{ext}")


# --- values, history, revert ---------------------------------------------------------------


def _key(name: str, auth: Any, *parts: Any) -> str:
    """A cache key of a region-scoped read: the endpoint, the reader's scope, the parameters."""
    return f"data-{name}:{scope_key(auth.actor)}:{parts!r}"


@router.get("/values", response_model=dict[str, Any])
async def get_values(
    auth: AuthDep,
    request: Request,
    region: Annotated[str | None, REGION_Q] = None,
    period: Annotated[str | None, PERIOD_Q] = None,
    element: Annotated[list[str] | None, Query(description="数据项或指标编码 / codes")] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> Response:
    """当前值及审核状态（辖区外仅已审核）/ Current values with status (outside your region
    only approved ones); ``truncated`` says when more than ``limit`` matched."""
    from healthwatch.services.data import current_values

    def read() -> dict[str, Any]:
        frame = current_values(
            _db(request), actor=auth.actor, elements=element or None, region=region, period=period
        )
        frame["stored_at"] = [iso_utc_text(v) for v in frame["stored_at"]]
        return {
            "count": len(frame),
            "truncated": len(frame) > limit,
            "values": frame.head(limit).to_dict("records"),
        }

    key = _key("values", auth, region, period, tuple(element or ()), limit)
    return await cached_answer(request, key, read)


@router.get("/history", response_model=dict[str, Any])
async def get_history(
    auth: AuthDep,
    request: Request,
    region: Annotated[str, REGION_Q],
    period: Annotated[str, PERIOD_Q],
    element: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """修改历史：谁、何时、旧值、新值、原因，及审核记录 / History: who, when, old, new, why;
    approval events."""
    from healthwatch.services.data import history

    def read() -> dict[str, Any]:
        return history(region, period, element, db=_db(request), actor=auth.actor)

    return await cached_answer(request, _key("history", auth, region, period, element), read)


class RevertBody(BaseModel):
    region: str = Field(pattern=r"^\d{6}$")
    period: str = Field(pattern=r"^\d{4}(Q[1-4]|\d{2})?$")
    element: str = Field(max_length=100)
    version: int = Field(ge=1, le=2**31 - 1)
    reason: str = Field(max_length=1000)


@router.post("/revert")
def post_revert(body: RevertBody, auth: AuthDep, request: Request) -> dict[str, Any]:
    """恢复某一版本（作为新版本）/ Restore a version as a new version (reason required)."""
    from healthwatch.services.data import revert

    return revert(
        body.region,
        body.period,
        body.element,
        body.version,
        reason=body.reason,
        actor=auth.actor,
        db=_db(request),
    )


# --- workflow ------------------------------------------------------------------------------


@router.get("/status", response_model=list[dict[str, Any]])
async def get_status(
    auth: AuthDep,
    request: Request,
    period: Annotated[str, PERIOD_Q],
    region: Annotated[str | None, REGION_Q] = None,
) -> Response:
    """各地区审核状态（辖区内）/ Workflow state of every region in your scope for a period."""
    from healthwatch.services.data import status

    def read() -> list[dict[str, Any]]:
        return status(period, region=region, db=_db(request), actor=auth.actor)

    return await cached_answer(request, _key("status", auth, period, region), read)


class WorkflowBody(BaseModel):
    region: str = Field(pattern=r"^\d{6}$")
    period: str = Field(pattern=r"^\d{4}(Q[1-4]|\d{2})?$")
    comment: str = Field("", max_length=1000)


class UnlockBody(BaseModel):
    region: str = Field(pattern=r"^\d{6}$")
    period: str = Field(pattern=r"^\d{4}(Q[1-4]|\d{2})?$")
    reason: str = Field(max_length=1000)


@router.post("/submit")
def post_submit(body: WorkflowBody, auth: AuthDep, request: Request) -> dict[str, Any]:
    """上报（草稿 → 已上报）/ Submit (draft → submitted)."""
    from healthwatch.services.data import submit

    return submit(body.region, body.period, actor=auth.actor, db=_db(request), comment=body.comment)


@router.post("/approve")
def post_approve(body: WorkflowBody, auth: AuthDep, request: Request) -> dict[str, Any]:
    """审核并锁定（下级须全部审核）/ Approve and lock (all regions below first)."""
    from healthwatch.services.data import approve

    return approve(
        body.region, body.period, actor=auth.actor, db=_db(request), comment=body.comment
    )


@router.post("/unlock")
def post_unlock(body: UnlockBody, auth: AuthDep, request: Request) -> dict[str, Any]:
    """管理员解锁（记入审计）/ Administrator unlock (audited; reason required)."""
    from healthwatch.services.data import unlock

    return unlock(body.region, body.period, actor=auth.actor, reason=body.reason, db=_db(request))


# --- aggregation ---------------------------------------------------------------------------


@router.get("/aggregate", response_model=list[dict[str, Any]])
async def get_aggregate(
    auth: AuthDep,
    request: Request,
    indicator: Annotated[str, Query(max_length=100)],
    period: Annotated[list[str] | None, Query(description="期间（可重复）/ periods")] = None,
    region: Annotated[str | None, REGION_Q] = None,
    level: Annotated[list[str] | None, Query(description="province | city | county")] = None,
) -> Response:
    """逐级汇总（由计数重算比率）及完整性 / Aggregate from counts with completeness (outside
    your region computed from approved values only)."""
    from healthwatch.services.data import aggregate

    def read() -> list[dict[str, Any]]:
        rows = aggregate(
            indicator, db=_db(request), periods=period or None, region=region, actor=auth.actor
        )
        return [r for r in rows if not level or r["level"] in level]

    key = _key("aggregate", auth, indicator, tuple(period or ()), region, tuple(level or ()))
    return await cached_answer(request, key, read)


@router.get("/completeness", response_model=list[dict[str, Any]])
async def get_completeness(
    auth: AuthDep,
    request: Request,
    period: Annotated[str, PERIOD_Q],
    plan: Annotated[str | None, Query(max_length=100)] = None,
    region: Annotated[str | None, REGION_Q] = None,
) -> Response:
    """哪些县已填报 / Which counties have reported, per indicator and region."""
    from healthwatch.services.data import completeness

    def read() -> list[dict[str, Any]]:
        return completeness(period, plan=plan, region=region, db=_db(request), actor=auth.actor)

    return await cached_answer(request, _key("completeness", auth, period, plan, region), read)
