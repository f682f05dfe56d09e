"""duban."""
