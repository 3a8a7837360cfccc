"""healthwatch.plans."""
