"""Indicator data: definitions, file readers, validation, aggregation, export (see docs/data.md).

``elements`` (data elements and indicator definitions, YAML), ``importers`` (long CSV, DHIS2,
FHIR; ``excel`` for the reporting template), ``validate`` (every check before a write),
``aggregate`` (county -> city -> province from counts, completeness), ``export``, ``synthetic``
(the demo panel), and the shared readers ``tables`` and ``counts``. Storage and the approval
workflow are combined in :mod:`healthwatch.services.data`.
"""
