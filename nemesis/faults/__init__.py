"""Fault injectors: one module per family, each a plugin of the engine."""
