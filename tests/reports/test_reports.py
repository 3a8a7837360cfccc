"""Reports: HTML self-contained in both languages, Excel sheets, PDF with embedded Chinese font
checked by rendering its pages to images."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import strict_json_loads
from openpyxl import load_workbook

from healthwatch.services.evaluate import write_report
from healthwatch.store.db import session_scope


@pytest.fixture(scope="module")
def sqlite_db(tmp_path_factory) -> str:
    """A database with the built-in regions, populations and plans (no indicator data)."""
    from healthwatch.services.database import install_builtin

    url = f"sqlite:///{tmp_path_factory.mktemp('rep') / 'hw.sqlite'}"
    install_builtin(url)
    return url


def _write(db: str, tmp: Path, fmt: str, lang: str, plan: str = "liaoning-2021-2025") -> Path:
    out = tmp / f"r-{lang}.{fmt}"
    with session_scope(db) as s:
        info = write_report(s, plan, 2025, fmt, lang, out)
    assert info["bytes"] == out.stat().st_size > 0
    return out


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_html_is_self_contained_and_complete(sqlite_db, tmp_path, lang) -> None:
    html = _write(sqlite_db, tmp_path, "html", lang).read_text(encoding="utf-8")
    # no external resources: no src/href to http(s), no <script src>, no <link>
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", html)
    assert "<link" not in html and "<script" not in html
    words = {
        "zh": [
            "总结评估报告",
            "预警",
            "指标评估明细",
            "每千常住人口执业（助理）医师数",
            "滞后",
            "附录：评估方法",
            "序时进度",
            "各地区评估状态",
        ],
        "en": [
            "Final evaluation report",
            "Early warnings",
            "Every indicator",
            "Licensed (assistant) physicians",
            "lagging",
            "Annex: methods",
            "Status by region",
        ],
    }[lang]
    for w in words:
        assert w in html, w
    assert html.count("<svg") >= 5  # trend charts and the map
    assert "sha256:" in html  # the data version is printed


def test_xlsx_has_summary_and_one_sheet_per_category(sqlite_db, tmp_path) -> None:
    wb = load_workbook(_write(sqlite_db, tmp_path, "xlsx", "zh"))
    names = wb.sheetnames
    assert names[0] == "汇总"
    for cat in (
        "健康水平和健康保障",
        "健康服务",
        "妇幼健康",
        "医疗服务",
        "医疗卫生服务体系",
        "健康生活",
    ):
        assert cat in names
    ws = wb["医疗卫生服务体系"]
    rows = {r[1]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    assert rows["physicians_per_1000"][9] == "滞后"
    assert rows["physicians_per_1000"][7] == pytest.approx(2.96)
    en = load_workbook(_write(sqlite_db, tmp_path, "xlsx", "en"))
    assert en.sheetnames[0] == "Summary" and "Health services" in en.sheetnames


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_pdf_renders_chinese(sqlite_db, tmp_path, lang) -> None:
    pdf = _write(sqlite_db, tmp_path, "pdf", lang)
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True).stdout
    cjk = [line for line in fonts.splitlines() if "CJK" in line]
    assert cjk, fonts
    assert all(" yes " in line for line in cjk)  # embedded
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert ("总结评估报告" if lang == "zh" else "Final evaluation report") in text
    assert "辽宁省" in text  # Chinese text is real text in both languages (plan wording)
    subprocess.run(
        ["pdftoppm", "-r", "30", "-png", "-f", "1", "-l", "3", str(pdf), str(tmp_path / "page")],
        check=True,
    )
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == 3
    from PIL import Image

    for page in pages:
        dark = int((np.asarray(Image.open(page).convert("L")) < 128).sum())
        assert dark > 500, page  # the page has text on it, not empty boxes only


def test_report_cli_and_bad_format(run_cli, seeded_sqlite, tmp_path) -> None:
    db = seeded_sqlite
    out = tmp_path / "a.html"
    r = run_cli(
        "report",
        "--plan",
        "anshan-2021-2025",
        "--as-of",
        "2023",
        "--format",
        "html",
        "--lang",
        "en",
        "--out",
        str(out),
        "--json",
        "--db",
        db,
    )
    assert r.returncode == 0, r.stderr
    info = strict_json_loads(r.stdout)
    assert info["file"] == str(out) and out.exists()
    html = out.read_text(encoding="utf-8")
    assert "Mid-term evaluation report" in html  # 2023 is the third year of 2021-2025
    assert "P05-08" in html  # Anshan's 43 projects are listed
    bad = run_cli(
        "report", "--plan", "anshan-2021-2025", "--as-of", "2023", "--format", "doc", "--db", db
    )
    assert bad.returncode == 2 and "--format" in bad.stderr and "Traceback" not in bad.stderr
