"""What every checker returns: a :class:`Verdict`, a one-line summary and typed evidence.

Each checker has its own result, a dataclass subclassing :class:`TypedResult`
whose fields are its evidence (``set_full.SetFullResult``,
``availability.AvailabilityResult``, ...). ``to_json()`` gives the object
written under ``results.json["checkers"][name]``: ``valid`` (``True``,
``False`` or ``"unknown"``, Jepsen's three values), ``summary``, the evidence
under the keys of the run-directory contract, and ``checker`` (which result
type it is). ``from_json()`` reads such an object back, tolerating old runs
and malformed entries: what cannot be read is left out, never guessed.

Constructed directly, ``CheckResult(name, valid, summary, evidence)`` keeps
its evidence as a plain dict: the form of a checker with no typed result yet
(and of a checker that crashed, see :class:`CheckerCrash`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar, Literal, Self, TypeVar

Validity = bool | Literal["unknown"]
UNKNOWN: Literal["unknown"] = "unknown"
T = TypeVar("T")


class Verdict(Enum):
    """A checker's verdict."""

    VALID = "valid"
    INVALID = "invalid"
    UNKNOWN = "unknown"

    @classmethod
    def of(cls, valid: object) -> Verdict:
        """From Jepsen's ``valid`` (``True``/``False``/anything else: unknown)."""
        if valid is True:
            return cls.VALID
        if valid is False:
            return cls.INVALID
        return cls.UNKNOWN

    @property
    def valid(self) -> Validity:
        """As Jepsen's ``valid``: ``True``, ``False`` or ``"unknown"``."""
        if self is Verdict.VALID:
            return True
        if self is Verdict.INVALID:
            return False
        return UNKNOWN


class CheckResult:
    """A verdict with its summary and evidence; the base of every typed result."""

    NAME: ClassVar[str] = ""
    verdict: Verdict
    summary: str
    check_time_s: float | None

    def __init__(
        self,
        name: str,
        valid: Validity,
        summary: str,
        evidence: Mapping[str, Any] | None = None,
        check_time_s: float | None = None,
    ) -> None:
        self._name = name
        self.verdict = Verdict.of(valid)
        self.summary = summary
        self._evidence = dict(evidence or {})
        self.check_time_s = check_time_s

    @property
    def name(self) -> str:
        """The checker's name (its key under ``results.json["checkers"]``)."""
        return self._name

    @property
    def valid(self) -> Validity:
        return self.verdict.valid

    @property
    def evidence(self) -> dict[str, Any]:
        """The evidence under the run-directory contract's keys."""
        return self.evidence_json()

    def evidence_json(self) -> dict[str, Any]:
        return dict(self._evidence)

    def to_json(self) -> dict[str, Any]:
        """``{"valid", "summary", **evidence, "check-time-s"?}`` as written into results.json."""
        out: dict[str, Any] = {"valid": self.valid, "summary": self.summary}
        if self.NAME:
            out["checker"] = self.NAME
        out.update(self.evidence_json())
        if self.check_time_s is not None:
            out.setdefault("check-time-s", self.check_time_s)
        return out

    @classmethod
    def plain_from_json(cls, name: str, data: Mapping[str, Any]) -> CheckResult:
        """Any checker's JSON as an untyped result: everything but valid/summary is evidence."""
        evidence = {k: v for k, v in data.items() if k not in ("valid", "summary", "check-time-s")}
        return CheckResult(
            name,
            Verdict.of(data.get("valid")).valid,
            text(data.get("summary")),
            evidence,
            opt_float(data.get("check-time-s")),
        )

    def __repr__(self) -> str:
        return f"CheckResult({self._name!r}, {self.valid!r}, {self.summary!r})"


@dataclass(kw_only=True, repr=False)
class TypedResult(CheckResult):
    """Base of the per-checker result dataclasses: evidence as fields."""

    verdict: Verdict
    summary: str = ""
    check_time_s: float | None = None

    @property
    def name(self) -> str:
        return self.NAME

    def evidence_json(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        """Read ``to_json()``'s output back (tolerating old and malformed entries)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.verdict.name}, {self.summary!r})"


@dataclass(kw_only=True, repr=False)
class CheckerCrash(TypedResult):
    """A checker that raised: its verdict is unknown; ``expected`` is the result it owed."""

    NAME: ClassVar[str] = "crash"
    error: str
    traceback: str = ""
    expected: type[CheckResult] | None = field(default=None, compare=False)

    def evidence_json(self) -> dict[str, Any]:
        return {"error": self.error, "traceback": self.traceback}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        return cls(
            verdict=Verdict.UNKNOWN,
            summary=text(data.get("summary")),
            error=text(data.get("error")),
            traceback=text(data.get("traceback")),
        )


# ---- tolerant readers of results.json values ---------------------------------


def text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def opt_text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def as_int(value: Any, default: int = 0) -> int:
    return int(value) if is_number(value) else default


def opt_int(value: Any) -> int | None:
    return int(value) if is_number(value) else None


def opt_float(value: Any) -> float | None:
    return float(value) if is_number(value) else None


def as_map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def parse_list(value: Any, parse: Callable[[Any], T | None]) -> list[T]:
    """The entries of a JSON list that ``parse`` can read (others are left out)."""
    out: list[T] = []
    for item in as_list(value):
        parsed = parse(item)
        if parsed is not None:
            out.append(parsed)
    return out


def dicts(value: Any) -> list[dict[str, Any]]:
    """The objects of a JSON list (e.g. history ops), others left out."""
    return [item for item in as_list(value) if isinstance(item, dict)]


def number_map(value: Any) -> dict[str, float]:
    """``{"0.5": 3, ...}``: the numeric entries of an object."""
    return {str(k): v for k, v in as_map(value).items() if is_number(v)}


def str_list(value: Iterable[Any]) -> list[str]:
    return [str(v) for v in value if v is not None]
