"""Sinks: where an auth attempt record goes (OpenTelemetry spans and metrics, JSON Lines, logging)."""
