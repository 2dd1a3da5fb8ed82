"""The bot REST API (/api/v1/)."""
