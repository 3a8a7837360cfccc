"""Packaged plan data (YAML)."""
