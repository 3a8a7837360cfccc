"""healthwatch.data."""
