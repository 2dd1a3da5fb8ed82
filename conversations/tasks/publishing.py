"""Tasks: publishing."""
