"""healthwatch.warning."""
