"""Packaged data element and indicator definition files (YAML)."""
