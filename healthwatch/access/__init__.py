"""healthwatch.access."""
