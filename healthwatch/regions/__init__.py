"""healthwatch.regions."""
