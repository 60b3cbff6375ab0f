"""Component configuration: flags, config files, and clear errors on bad input."""

from __future__ import annotations

import json
import pathlib
from dataclasses import dataclass, field

import pytest

from cluster.common.config import ConfigError, build, load, to_dict


@dataclass
class Sample:
    id: str = "a1"
    port: int = 0
    ratio: float = 1.5
    verbose: bool = False
    peer: list[str] = field(default_factory=list)
    name: str | None = None

    def validate(self) -> None:
        if self.port < 0:
            raise ValueError("--port must not be negative")


def test_flags_build_the_dataclass() -> None:
    cfg = load(Sample, ["--id", "a2", "--port", "7", "--peer", "x", "--peer", "y"], "prog")
    assert cfg == Sample(id="a2", port=7, peer=["x", "y"])


def test_file_then_flags_override(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"port": 5, "ratio": 2, "verbose": True, "peer": ["p"]}))
    cfg = load(Sample, ["--config", str(path), "--port", "9"], "prog")
    assert (cfg.port, cfg.ratio, cfg.verbose, cfg.peer) == (9, 2.0, True, ["p"])


def test_toml_file_with_flag_spelling(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('id = "a9"\nport = 3\n')
    assert load(Sample, ["--config", str(path)], "prog").id == "a9"


@pytest.mark.parametrize(
    "values, message",
    [
        ({"port": "seven"}, "--port"),
        ({"verbose": "maybe"}, "--verbose"),
        ({"port": -1}, "must not be negative"),
        ({"nope": 1}, "unknown setting"),
    ],
)
def test_bad_values_name_the_setting(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build(Sample, values, {})


def test_bad_file_exits_with_one_line(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.json"
    path.write_text("{broken")
    with pytest.raises(SystemExit) as exc:
        load(Sample, ["--config", str(path)], "prog")
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "malformed" in err and len(err.splitlines()) == 1


def test_to_dict_is_json() -> None:
    assert json.loads(json.dumps(to_dict(Sample(peer=["a"])))) == {
        "id": "a1",
        "port": 0,
        "ratio": 1.5,
        "verbose": False,
        "peer": ["a"],
        "name": None,
    }
