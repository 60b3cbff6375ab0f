"""The nightly soak: rounds drawn from a matrix with a seed, each a normal run directory.

``plan`` draws the rounds (and a shard's slice of them), ``runner`` runs them one
after another with a state file (``soak.json``) so a soak can be resumed,
``rundir`` compacts each finished run directory, ``retention`` bounds the
store, and the ``store_index`` / ``index_page`` / ``export`` modules read run
directories only (``results.json``, ``test.json``) to write ``index.html``,
``junit.xml`` and ``summary.md``. Plugins come from the edge (the CLI), never by
import.
"""
