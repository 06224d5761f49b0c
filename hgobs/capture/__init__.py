"""Capture: turn httpx auth requests into redacted auth attempt records and spans."""
