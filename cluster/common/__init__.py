"""Pieces shared by the agency and the servers: clock, configuration, errors, HTTP helpers."""
