"""Workloads: each a client, a generator and the checkers that judge its history."""
