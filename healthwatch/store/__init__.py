"""healthwatch.store."""
