"""The engine: a test value, its runner, generator, history, client and nemesis schedule."""
