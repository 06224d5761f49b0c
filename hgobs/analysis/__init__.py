"""Analysis: classify records offline and aggregate them with pandas (pure functions)."""
