"""healthwatch.evaluate."""
