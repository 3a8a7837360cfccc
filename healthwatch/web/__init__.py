"""healthwatch.web."""
