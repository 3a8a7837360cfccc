"""healthwatch.reports: the evaluation report in HTML, PDF and Excel, in Chinese or English.

>>> from healthwatch.reports import FORMATS
>>> FORMATS
('html', 'pdf', 'xlsx')
"""

from __future__ import annotations

from healthwatch.reports.document import ReportData, render_html

FORMATS: tuple[str, ...] = ("html", "pdf", "xlsx")
LANGS: tuple[str, ...] = ("zh", "en")


def render(data: ReportData, fmt: str, lang: str) -> bytes:
    """The report file's bytes in ``fmt`` (html, pdf, xlsx) and ``lang`` (zh, en)."""
    if fmt == "html":
        return render_html(data, lang).encode("utf-8")
    if fmt == "xlsx":
        from healthwatch.reports.xlsx import render_xlsx

        return render_xlsx(data, lang)
    from healthwatch.reports.pdf import render_pdf

    return render_pdf(data, lang)


__all__ = ["FORMATS", "LANGS", "ReportData", "render", "render_html"]
