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


def _freeze(value: Any) -> Hashable:
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
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
            return state if _freeze(value) == state else IMPOSSIBLE
        if f == "write":
            return _freeze(value)
        return IMPOSSIBLE

    def overwrites(self, f: str, value: Any) -> bool:
        return f == "write"

    def describe(self, f: str, value: Any) -> str:
        return f"{f} {_show(value)}"

    def requires(self, f: str, value: Any) -> Hashable:
        return _freeze(value) if f == "read" else IMPOSSIBLE

    def produces(self, f: str, value: Any) -> Hashable:
        return _freeze(value) if f == "write" else IMPOSSIBLE


class CasRegister(Register):
    """A register with compare-and-set: ``cas [old new]`` succeeds only when it holds ``old``."""

    name = "cas-register"
    functions = frozenset({"read", "write", "cas"})

    def step(self, state: Hashable, f: str, value: Any) -> Hashable:
        if f == "cas":
            if not isinstance(value, list | tuple) or len(value) != 2:
                return IMPOSSIBLE
            old, new = value
            return _freeze(new) if _freeze(old) == state else IMPOSSIBLE
        return super().step(state, f, value)

    def requires(self, f: str, value: Any) -> Hashable:
        if f == "cas":
            return (
                _freeze(value[0]) if isinstance(value, list | tuple) and len(value) == 2 else None
            )
        return super().requires(f, value)

    def produces(self, f: str, value: Any) -> Hashable:
        if f == "cas":
            return (
                _freeze(value[1]) if isinstance(value, list | tuple) and len(value) == 2 else None
            )
        return super().produces(f, value)

    def describe(self, f: str, value: Any) -> str:
        if f == "cas" and isinstance(value, list | tuple) and len(value) == 2:
            return f"cas {_show(value[0])}->{_show(value[1])}"
        return super().describe(f, value)


def _show(value: Any) -> str:
    return "nil" if value is None else str(value)


MODELS: dict[str, Model] = {"register": Register(), "cas-register": CasRegister()}


def get_model(name: str) -> Model:
    """The model called ``name``; ``KeyError`` lists the known ones."""
    try:
        return MODELS[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r} (known: {', '.join(sorted(MODELS))})") from None
