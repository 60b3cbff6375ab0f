"""Fault injectors, schedules, and the pytest suites ``test_<family>.py``."""
