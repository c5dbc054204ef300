"""Network experiments (one module per paper figure)."""
