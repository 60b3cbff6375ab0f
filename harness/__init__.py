"""The Jepsen-style test engine: backends, network, history, runner, checkers, CLI."""
