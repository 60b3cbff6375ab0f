"""The Porcupine side of the checker benchmark: a Go driver, built at run time.

The driver is written into a temporary module outside the repository (``go mod
init``, ``go get`` Porcupine and Go's EDN reader, ``go build``). It takes
Jepsen ``history.edn`` files (read with ``olympos.io/encoding/edn``, invocations
paired with completions as :mod:`harness.checkers.porcupine_format` does) or
Porcupine JSON, and checks each with a per-key partitioned register model, one
file after another, printing one ``RESULT`` line per file with its verdict,
check seconds (wall), read-and-convert seconds and the check's CPU seconds
(every thread: Porcupine checks a history's partitions in parallel).
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

PORCUPINE = "github.com/anishathalye/porcupine@v1.3.1"
EDN = "olympos.io/encoding/edn@v0.0.0-20201019073823-d3554ca0b0a3"  # Go's EDN reader
_MEMORY_CAP = 6 << 30  # the driver is stopped (no answer) beyond this RSS

_DRIVER = r"""
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/anishathalye/porcupine"
	"olympos.io/encoding/edn"
)

type Input struct {
	Op    string
	Key   string
	Value string
	Old   string
	New   string
}

type Output struct {
	Value   string
	Unknown bool
}

type rawOp struct {
	ClientId int
	Input    Input
	Call     int64
	Output   Output
	Return   int64
}

var model = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range history {
			k := op.Input.(Input).Key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		var out [][]porcupine.Operation
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() interface{} { return "null" },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		st := state.(string)
		in := input.(Input)
		out := output.(Output)
		switch in.Op {
		case "read":
			if out.Unknown {
				return true, st
			}
			return out.Value == st, st
		case "write":
			return true, in.Value
		case "cas":
			if st == in.Old {
				return true, in.New
			}
			return out.Unknown, st
		}
		return false, st
	},
	Equal: func(a, b interface{}) bool { return a.(string) == b.(string) },
}

// One Jepsen op map; other keys (:time, :error, :node) are ignored.
type ednOp struct {
	Index   int64       `edn:"index"`
	Type    edn.Keyword `edn:"type"`
	Process interface{} `edn:"process"`
	F       edn.Keyword `edn:"f"`
	Value   interface{} `edn:"value"`
}

// text is a value as the JSON text the Python side writes ("null", "3", "[1,2]").
func text(v interface{}) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case int64:
		return strconv.FormatInt(x, 10)
	case []interface{}:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = text(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case edn.Keyword:
		return strconv.Quote(string(x))
	case string:
		return strconv.Quote(x)
	}
	return fmt.Sprint(v)
}

func pair(v interface{}) ([]interface{}, bool) {
	x, ok := v.([]interface{})
	return x, ok && len(x) == 2
}

// readEDN reads a Jepsen history.edn (one op map per line, or one vector of
// maps) and builds Porcupine operations as the Python side's export does:
// invocations paired with completions by process, fail ops and reads that did
// not complete ok left out, info ops unknown with a return after every other op.
func readEDN(data []byte) ([]porcupine.Operation, error) {
	var forms []ednOp
	trimmed := bytes.TrimLeft(data, " \t\r\n,")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if err := edn.Unmarshal(data, &forms); err != nil {
			return nil, err
		}
	} else {
		dec := edn.NewDecoder(bytes.NewReader(data))
		for {
			var op ednOp
			err := dec.Decode(&op)
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
			forms = append(forms, op)
		}
	}
	type call struct {
		inv  ednOp
		done *ednOp
	}
	var calls []*call
	open := map[int64]*call{}
	keyed := false
	var late int64
	for i := range forms {
		op := forms[i]
		if op.Index+1 > late {
			late = op.Index + 1
		}
		proc, ok := op.Process.(int64)
		if !ok {
			continue // the nemesis
		}
		if op.Type == "invoke" {
			c := &call{inv: op}
			open[proc] = c
			calls = append(calls, c)
			if v, ok := pair(op.Value); ok {
				if op.F != "cas" {
					keyed = true
				} else if _, ok := pair(v[1]); ok {
					keyed = true
				}
			}
		} else if c, ok := open[proc]; ok {
			c.done = &forms[i]
			delete(open, proc)
		}
	}
	clients := map[int64]int{}
	var ops []porcupine.Operation
	for _, c := range calls {
		kind := "info"
		if c.done != nil {
			kind = string(c.done.Type)
		}
		f := string(c.inv.F)
		if kind == "fail" || (f == "read" && kind != "ok") {
			continue
		}
		raw := c.inv.Value
		if f == "read" {
			raw = c.done.Value
		}
		key := interface{}(nil)
		if keyed {
			if v, ok := pair(raw); ok {
				key, raw = v[0], v[1]
			} else if v, ok := c.inv.Value.([]interface{}); ok && len(v) > 0 {
				key = v[0]
			}
		}
		in := Input{Op: f, Key: text(key)}
		out := Output{Unknown: kind != "ok"}
		switch f {
		case "read":
			out.Value = text(raw)
		case "write":
			in.Value = text(raw)
		case "cas":
			v, ok := pair(raw)
			if !ok {
				return nil, fmt.Errorf("index %d: bad cas value", c.inv.Index)
			}
			in.Old, in.New = text(v[0]), text(v[1])
		default:
			return nil, fmt.Errorf("index %d: %s is not a register operation", c.inv.Index, f)
		}
		proc := c.inv.Process.(int64)
		client, ok := clients[proc]
		if !ok {
			client = len(clients)
			clients[proc] = client
		}
		ret := late
		if kind == "ok" {
			ret = c.done.Index
		} else {
			late++
		}
		ops = append(ops, porcupine.Operation{ClientId: client, Input: in, Call: c.inv.Index, Output: out, Return: ret})
	}
	return ops, nil
}

func readJSON(data []byte) ([]porcupine.Operation, error) {
	var raw []rawOp
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	ops := make([]porcupine.Operation, len(raw))
	for i, r := range raw {
		ops[i] = porcupine.Operation{ClientId: r.ClientId, Input: r.Input, Call: r.Call, Output: r.Output, Return: r.Return}
	}
	return ops, nil
}

// cpuSeconds is the CPU time of this process so far, every thread counted.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func main() {
	timeout := flag.Duration("timeout", 300*time.Second, "per-file check timeout")
	flag.Parse()
	for _, path := range flag.Args() {
		t0 := time.Now()
		data, err := os.ReadFile(path)
		if err != nil {
			fmt.Printf("RESULT\t%s\terror\t0\t0\t0\n", path)
			continue
		}
		var ops []porcupine.Operation
		if strings.HasSuffix(path, ".edn") {
			ops, err = readEDN(data)
		} else {
			ops, err = readJSON(data)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
			fmt.Printf("RESULT\t%s\terror\t0\t0\t0\n", path)
			continue
		}
		parse := time.Since(t0).Seconds()
		t1 := time.Now()
		c1 := cpuSeconds()
		res := porcupine.CheckOperationsTimeout(model, ops, *timeout)
		verdict := "unknown"
		if res == porcupine.Ok {
			verdict = "valid"
		} else if res == porcupine.Illegal {
			verdict = "invalid"
		}
		fmt.Printf("RESULT\t%s\t%s\t%.4f\t%.4f\t%.4f\n", path, verdict, time.Since(t1).Seconds(), parse, cpuSeconds()-c1)
	}
}
"""


def build_driver(workdir: Path) -> Path:
    """Write, fetch and build the Go driver in ``workdir``; the binary's path."""
    go = shutil.which("go")
    if go is None:
        raise RuntimeError("go is not installed")
    (workdir / "main.go").write_text(_DRIVER, encoding="utf-8")
    env = dict(os.environ, GOFLAGS="-mod=mod")
    for cmd in (
        [go, "mod", "init", "afcheck.local/porcupinedriver"],
        [go, "get", PORCUPINE],
        [go, "build", "-o", "driver", "."],
    ):
        done = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[1:])} failed: {done.stderr.strip()[-400:]}")
    return workdir / "driver"


@dataclass
class DriverRun:
    """One driver process: per-file verdicts and check seconds, and its wall time."""

    verdicts: dict[str, str]
    check_s: dict[str, float]
    wall_s: float
    note: str = ""
    cpu_s: float = 0.0
    check_cpu_s: dict[str, float] = field(default_factory=dict)  # the checks' CPU, all threads


def run_driver(driver: Path, files: Sequence[Path], timeout_s: float) -> DriverRun:
    """Run the driver on ``files``; stop it beyond ``_MEMORY_CAP`` RSS or the time cap."""
    started = time.perf_counter()
    cpu0 = children_cpu()
    proc = subprocess.Popen(
        [str(driver), "-timeout", f"{timeout_s}s", *map(str, files)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    note: list[str] = []

    def watch() -> None:
        while proc.poll() is None:
            rss = _rss(proc.pid)
            if rss > _MEMORY_CAP:
                note.append(f"stopped at {rss >> 20} MiB RSS")
                proc.send_signal(signal.SIGKILL)
                return
            time.sleep(0.5)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        out, _ = proc.communicate(timeout=timeout_s * len(files) + 60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        note.append("driver overran its time cap")
    wall = time.perf_counter() - started
    cpu = children_cpu() - cpu0
    verdicts: dict[str, str] = {}
    check_s: dict[str, float] = {}
    check_cpu_s: dict[str, float] = {}
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) == 6 and parts[0] == "RESULT":
            verdicts[parts[1]] = parts[2]
            check_s[parts[1]] = float(parts[3])
            check_cpu_s[parts[1]] = float(parts[5])
    return DriverRun(verdicts, check_s, wall, "; ".join(note), cpu, check_cpu_s)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
