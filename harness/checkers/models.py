"""Sequential models for the linearizability checker.

A model is a pure state machine: ``init()`` gives the first state, ``step``
the state after one operation (or :data:`IMPOSSIBLE` when the operation cannot happen
in that state). States must be hashable: the search memoises them.
``None`` is a legal state (Jepsen's ``nil``); an impossible step returns the
:data:`IMPOSSIBLE` sentinel.

``overwrites`` tells the search that an operation's result does not depend on
the state (a blind write). The search uses it to prune: an ``info`` operation
immediately followed by a blind write could as well never have happened.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Protocol


class _Impossible:
    __slots__ = ()

    def __repr__(self) -> str:
        return "IMPOSSIBLE"


IMPOSSIBLE: Hashable = _Impossible()


class Model(Protocol):
    """What the linearizability search needs from a datatype."""

    name: str
    functions: frozenset[str]

    def init(self) -> Hashable: ...

    def step(self, state: Hashable, f: str, value: Any) -> Hashable:
        """The state after ``f(value)``, or :data:`IMPOSSIBLE`."""

    def overwrites(self, f: str, value: Any) -> bool:
        """Whether ``f(value)`` sets the state regardless of the state before."""

    def describe(self, f: str, value: Any) -> str:
        """A short human form of one operation, e.g. ``cas 1->2``."""

    def requires(self, f: str, value: Any) -> Hashable:
        """The state ``f(value)`` needs to take effect, or :data:`IMPOSSIBLE` if it needs none."""

    def produces(self, f: str, value: Any) -> Hashable:
        """The state ``f(value)`` leaves behind, or :data:`IMPOSSIBLE` if it changes nothing."""


def freeze(value: Any) -> Hashable:
    """``value`` as a hashable state: lists become tuples, dicts sorted item tuples."""
    if value is None or value.__class__ is int or value.__class__ is str:
        return value
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), freeze(v)) for k, v in value.items()))
    return value  # type: ignore[no-any-return]


class Register:
    """A read/write register starting at ``None`` (Jepsen's ``nil``).

    A read of ``None`` is legal only while the register holds ``None``: unlike
    Knossos, which treats a ``nil`` read as "value unknown", we read it as
    "the key does not exist yet".
    """

    name = "register"
    functions = frozenset({"read", "write"})

    def init(self) -> Hashable:
        return None

    def step(self, state: Hashable, f: str, value: Any) -> Hashable:
        if f == "read":
            return state if freeze(value) == state else IMPOSSIBLE
        if f == "write":
            return freeze(value)
        return IMPOSSIBLE

    def overwrites(self, f: str, value: Any) -> bool:
        return f == "write"

    def describe(self, f: str, value: Any) -> str:
        return f"{f} {_show(value)}"

    def requires(self, f: str, value: Any) -> Hashable:
        return freeze(value) if f == "read" else IMPOSSIBLE

    def produces(self, f: str, value: Any) -> Hashable:
        return freeze(value) if f == "write" else IMPOSSIBLE


class CasRegister(Register):
    """A register with compare-and-set: ``cas [old new]`` succeeds only when it holds ``old``."""

    name = "cas-register"
    functions = frozenset({"read", "write", "cas"})

    def step(self, state: Hashable, f: str, value: Any) -> Hashable:
        if f == "cas":
            if not isinstance(value, list | tuple) or len(value) != 2:
                return IMPOSSIBLE
            old, new = value
            return freeze(new) if freeze(old) == state else IMPOSSIBLE
        return super().step(state, f, value)

    def requires(self, f: str, value: Any) -> Hashable:
        if f == "cas":
            return freeze(value[0]) if isinstance(value, list | tuple) and len(value) == 2 else None
        return super().requires(f, value)

    def produces(self, f: str, value: Any) -> Hashable:
        if f == "cas":
            return freeze(value[1]) if isinstance(value, list | tuple) and len(value) == 2 else None
        return super().produces(f, value)

    def describe(self, f: str, value: Any) -> str:
        if f == "cas" and isinstance(value, list | tuple) and len(value) == 2:
            return f"cas {_show(value[0])}->{_show(value[1])}"
        return super().describe(f, value)


def _show(value: Any) -> str:
    return "nil" if value is None else str(value)


class MultiRegister:
    """Several registers read and written atomically: Jepsen's multi-register.

    One op is ``txn`` whose value is a list of micro-ops ``[f, key, value]``
    (``f`` is ``r`` or ``w``, as Jepsen's ``:r``/``:w``), applied in order; a
    read must see the current value (``nil`` for a key never written). The
    state is the map as sorted ``(key, value)`` pairs. Completed txns carry
    their reads' results; an ``info`` txn's reads are unknown, so the
    checker keeps only its writes (see ``lin_prepare``).
    """

    name = "multi-register"
    functions = frozenset({"txn"})

    def init(self) -> Hashable:
        return ()

    def step(self, state: Hashable, f: str, value: Any) -> Hashable:
        if f != "txn" or not isinstance(value, list | tuple):
            return IMPOSSIBLE
        current: dict[Any, Any] = dict(state) if isinstance(state, tuple) else {}
        changed = False
        for micro in value:
            if not isinstance(micro, list | tuple) or len(micro) != 3:
                return IMPOSSIBLE
            kind, key, v = micro
            key = freeze(key)
            if kind == "r":
                if current.get(key) != freeze(v):
                    return IMPOSSIBLE
            elif kind == "w":
                current[key] = freeze(v)
                changed = True
            else:
                return IMPOSSIBLE
        if not changed:
            return state
        return tuple(sorted(current.items(), key=repr))

    def overwrites(self, f: str, value: Any) -> bool:
        return False

    def describe(self, f: str, value: Any) -> str:
        if isinstance(value, list | tuple):
            parts = [
                f"{m[0]} {m[1]} {_show(m[2])}"
                for m in value
                if isinstance(m, list | tuple) and len(m) == 3
            ]
            return "txn [" + ", ".join(parts) + "]"
        return f"txn {value}"

    def requires(self, f: str, value: Any) -> Hashable:
        return IMPOSSIBLE

    def produces(self, f: str, value: Any) -> Hashable:
        return IMPOSSIBLE


MODELS: dict[str, Model] = {
    "register": Register(),
    "cas-register": CasRegister(),
    "multi-register": MultiRegister(),
}


def get_model(name: str) -> Model:
    """The model called ``name``; ``KeyError`` lists the known ones."""
    try:
        return MODELS[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r} (known: {', '.join(sorted(MODELS))})") from None
