"""HTML rendering of a run directory."""
