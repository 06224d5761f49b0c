"""Data files shipped with hgobs (built-in provider profiles)."""
