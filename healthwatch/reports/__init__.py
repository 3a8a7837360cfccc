"""healthwatch.reports."""
