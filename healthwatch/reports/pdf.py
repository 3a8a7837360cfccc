"""The evaluation report as PDF: the HTML report rendered by WeasyPrint with an embedded CJK font.

WeasyPrint (PyPI) lays out HTML and CSS and embeds the fonts it uses as subsets; the Chinese
text needs a CJK font installed on the machine (Debian ``fonts-noto-cjk``: Noto Sans CJK SC).
:func:`cjk_font_available` tells whether one is; without it the PDF would show empty boxes, so
:func:`render_pdf` refuses with a bilingual message saying what to install.
"""

from __future__ import annotations

import shutil
import subprocess

from healthwatch.errors import HealthwatchError
from healthwatch.reports.document import ReportData, render_html


def cjk_font_available() -> bool:
    """Whether fontconfig knows a Simplified Chinese font (e.g. Noto Sans CJK SC)."""
    if shutil.which("fc-list") is None:
        return False
    out = subprocess.run(
        ["fc-list", ":lang=zh-cn", "family"], capture_output=True, text=True, timeout=30
    )
    return bool(out.stdout.strip())


def render_pdf(data: ReportData, lang: str = "zh") -> bytes:
    """The report as PDF bytes."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # OSError: pango missing
        raise HealthwatchError(
            f"PDF output needs WeasyPrint and Pango ({exc}); `pip install weasyprint`.",
            f"生成 PDF 需要 WeasyPrint 和 Pango（{exc}），请执行 `pip install weasyprint`。",
        ) from exc
    if lang == "zh" and not cjk_font_available():
        raise HealthwatchError(
            "No Chinese font found; install Debian's fonts-noto-cjk for the PDF.",
            "未找到中文字体，请安装 Debian 的 fonts-noto-cjk 后再生成 PDF。",
        )
    import logging

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    return HTML(string=render_html(data, lang)).write_pdf()
