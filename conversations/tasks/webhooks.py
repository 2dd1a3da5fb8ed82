"""Tasks: webhooks."""
