"""Packaged data of healthwatch.regions (a package so that setuptools ships its CSV files)."""
