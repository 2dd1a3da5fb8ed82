"""Tasks: callbacks."""
