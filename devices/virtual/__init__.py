"""Virtual sensor (placeholder package; being written)."""
