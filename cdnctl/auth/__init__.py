"""Authentication: vendor signature verifiers (pure functions over request parts)."""
