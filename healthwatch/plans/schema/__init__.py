"""The published JSON Schema of plan documents."""
