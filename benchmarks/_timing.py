r"""The timing harness shared by the benchmarks that race an ngcx step against its twin.

Every benchmark here (``pcn.py``, ``snn.py``, one per exhibit ...) times a step of ngcx
against a *twin*, the same computation written by hand in plain JAX in the benchmark, in
**one process**, on the same data; before any timing the benchmark asserts that one step
of each gives the same result (its own ``check_equal``). This module holds what the
benchmarks share: the clock, the waiting, the timed loops, the statistic, the command
line options every benchmark takes and the printed table.

What one measurement is (:func:`time_calls`): ``iters`` calls of ``state = step(state)``
(the state threads through, so a training step trains), after one untimed call
(compilation, first-touch of the buffers) when asked, and a wait for every array of the
last state (:func:`block`: JAX dispatches asynchronously, so without it the clock stops
before the work does). The result is milliseconds per call:

$$t = \frac{c_\text{end} - c_\text{start}}{\text{iters}} \cdot 10^3 \quad \text{ms}$$

with $c$ the clock: wall time (``time.perf_counter``, the default) or, with
``--clock cpu``, this process's CPU time (``time.process_time``: steadier on a machine
shared with other jobs, where wall time includes waiting for a core; on more than one
core it adds up the cores' time).

How the measurements are combined (:func:`compare`): ``iters`` is calibrated once, by
timing the probe step (the twin, unless a benchmark says otherwise), so that each
measurement lasts about ``min_time`` seconds:
$\text{iters} = \max(\text{min\_iters}, \lfloor 10^3\,\text{min\_time} / t_\text{probe}
\rfloor)$. Then every step is measured ``repeats`` times; by default the measurements are
interleaved and the order is reversed every other repeat (``ngcx, twin, twin, ngcx, ...``),
so drift of the machine's load hits both alike. The statistic is the median over the
repeats, per step; a benchmark prints the ratio ngcx / twin of the medians
(:func:`ratio_columns`, :func:`ratios`: below 1, ngcx is faster).

A benchmark keeps its own protocol through :func:`compare`'s arguments (how many calls at
least, whether each measurement gets its own warm-up call, the order of the repeats): the
figures quoted in the README were measured with them.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import jax
import jax.numpy as jnp

from ngcx import FlatStep


__all__ = [
    "CLOCKS",
    "RATIO",
    "Column",
    "Table",
    "block",
    "calls",
    "check_folded",
    "compare",
    "device_line",
    "fit_steps",
    "parse",
    "parser",
    "pure",
    "ratio_columns",
    "ratio_table",
    "ratios",
    "time_calls",
    "time_column",
]

#: the clocks of ``--clock``: wall time, or this process's CPU time
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}

Step = Callable[[Any], Any]


# --------------------------------------------------------------------------- steps
def block(state: Any) -> None:
    """Wait until every array of `state` (any PyTree) is computed; a
    :class:`ngcx.FlatStep` anywhere in it stands for its arrays (``.leaves``)."""
    arrays = jax.tree_util.tree_map(
        lambda x: x.leaves if isinstance(x, FlatStep) else x,
        state,
        is_leaf=lambda x: isinstance(x, FlatStep),
    )
    jax.block_until_ready(arrays)


def calls(*args: Any) -> Step:
    """The step ``trainer -> trainer`` that calls a :class:`ngcx.FlatStep` (which keeps its
    state itself) once with `args`."""

    def step(trainer: FlatStep) -> FlatStep:
        trainer(*args)
        return trainer

    return step


def pure(fn: Callable[..., Any], *args: Any) -> Step:
    """The step that calls ``fn(*args)`` with the same `args` every time (nothing threads
    through; the state is the last output, which :func:`block` waits for)."""
    return lambda _: fn(*args)


# --------------------------------------------------------------------------- timing
def time_calls(
    step: Step, state: Any, iters: int, *, clock: str = "wall", warmup: bool = True
) -> tuple[float, Any]:
    """Milliseconds per call of ``state = step(state)`` over `iters` calls, timed with
    ``CLOCKS[clock]`` up to the moment every array of the last state is computed.

    **Arguments:**

    - `step`: one call of what is timed, ``state -> new state``.
    - `state`: the state of the first call.
    - `iters`: the number of timed calls (at least 1).
    - `clock`: ``"wall"`` or ``"cpu"`` (:data:`CLOCKS`).
    - `warmup`: make one untimed call first (and wait for it): compilation and first-touch
      effects stay out of the measurement.

    **Returns:** ``(ms, state)``: milliseconds per call and the state after the last call.
    """
    if iters < 1:
        raise ValueError(f"`iters` must be at least 1, got {iters}.")
    now = CLOCKS[clock]
    if warmup:
        state = step(state)
        block(state)
    start = now()
    for _ in range(iters):
        state = step(state)
    block(state)
    return (now() - start) / iters * 1e3, state


def compare(
    steps: Mapping[str, Step],
    states: Mapping[str, Any],
    repeats: int,
    *,
    clock: str = "wall",
    min_time: float = 0.3,
    min_iters: int = 5,
    probe: str = "twin",
    probe_iters: int | None = None,
    iters: int | None = None,
    warmup: Literal["each", "series", "upfront", "none"] = "each",
    order: Literal["alternate", "fixed", "sequential"] = "alternate",
) -> dict[str, float]:
    """The median milliseconds per call of each of `steps`, measured in this process.

    **Arguments:**

    - `steps`: the steps to time by name (e.g. ``{"ngcx": ..., "twin": ...}``); their
      order is the order of the measurements.
    - `states`: each step's first state, by the same names.
    - `repeats`: how many measurements of each step the median is taken over.
    - `clock`: ``"wall"`` or ``"cpu"`` (:data:`CLOCKS`).
    - `min_time`: the seconds one measurement should last; the number of calls per
      measurement is calibrated once, on `probe`:
      ``max(min_iters, int(min_time * 1e3 / max(probe_ms, 1e-3)))``.
    - `min_iters`: the fewest calls of a measurement.
    - `probe`: the step that calibrates.
    - `probe_iters`: the calls of the calibrating measurement (default `min_iters`).
    - `iters`: a fixed number of calls per measurement instead (no calibration).
    - `warmup`: when a step makes an untimed call: ``"each"``, before every measurement
      (the calibration included); ``"series"``, before the calibration and before each
      run of consecutive measurements of one step (with ``order="sequential"``, once
      before each step's repeats); ``"upfront"``, once per step before anything is
      timed; ``"none"``, never (the steps have already run, e.g. in the benchmark's
      check).
    - `order`: ``"alternate"``, the steps measured in turn, in reverse order every other
      repeat (so drift hits all alike); ``"fixed"``, in turn, always in the order given;
      ``"sequential"``, all the repeats of one step, then all of the next.

    **Returns:** ``{name: median ms per call}``.
    """
    if set(steps) != set(states):
        raise ValueError(
            f"`states` must name the same steps as `steps`: got {sorted(states)}, "
            f"expected {sorted(steps)}."
        )
    if repeats < 1:
        raise ValueError(f"`repeats` must be at least 1, got {repeats}.")
    states = dict(states)
    if warmup == "upfront":
        for name, step in steps.items():
            states[name] = step(states[name])
            block(states[name])
    warm = warmup in ("each", "series")  # before the calibration
    if iters is None:
        per, states[probe] = time_calls(
            steps[probe], states[probe], probe_iters or min_iters, clock=clock, warmup=warm
        )
        iters = max(min_iters, int(min_time * 1e3 / max(per, 1e-3)))
    names = list(steps)
    if order == "sequential":
        schedule = [name for name in names for _ in range(repeats)]
    elif order == "fixed":
        schedule = names * repeats
    else:
        schedule = [n for r in range(repeats) for n in (names if r % 2 == 0 else names[::-1])]
    times: dict[str, list[float]] = {name: [] for name in names}
    for i, name in enumerate(schedule):
        warm = warmup == "each" or (warmup == "series" and (i == 0 or schedule[i - 1] != name))
        ms, states[name] = time_calls(steps[name], states[name], iters, clock=clock, warmup=warm)
        times[name].append(ms)
    return {name: statistics.median(t) for name, t in times.items()}


def fit_steps(
    task: Any, run: Any, state: Any, folded: Mapping[str, Any] | None = None
) -> dict[str, FlatStep]:
    """The exhibit task's training step as ``ngcx.training.fit`` runs it: ``"ngcx"``, a
    :class:`ngcx.FlatStep` of ``task.make_step(run, state)`` from `state` with the task's
    ``constants`` folded in; then, for every ``name: spec`` of `folded`, the same step with
    the filter spec `spec` folded in instead (a ``constants`` the task could have)."""
    step = task.make_step(run, state)
    specs = {"ngcx": task.constants(run, state), **(folded or {})}
    return {name: FlatStep(step, state, dynamic=spec) for name, spec in specs.items()}


def check_folded(trainers: Mapping[str, FlatStep], args: Sequence[Any]) -> None:
    """A step with more leaves folded in as constants must compute what the step
    ``trainers["ngcx"]`` computes: one call of each with `args`, from the same state,
    gives the same new state (every leaf to 1e-5)."""
    states = {name: (tr(*args), tr.state)[1] for name, tr in trainers.items()}
    ref = jax.tree_util.tree_leaves(states.pop("ngcx"))
    for name, state in states.items():
        for a, b in zip(ref, jax.tree_util.tree_leaves(state), strict=True):
            err = float(jnp.max(jnp.abs(jnp.asarray(a, jnp.float32) - b)))
            assert err < 1e-5, f"{name}: the folded step differs by {err:.2e}"


# --------------------------------------------------------------------------- command line
def parser(doc: str) -> argparse.ArgumentParser:
    """The benchmark's argument parser, described by the first paragraph of its `doc`."""
    return argparse.ArgumentParser(description=" ".join(doc.split("\n\n")[0].split()))


def parse(parser: argparse.ArgumentParser, *, repeats: int) -> argparse.Namespace:
    """Add the options every benchmark takes, ``--repeats`` (default `repeats`) and
    ``--clock {wall,cpu}``, to `parser` and parse the command line."""
    parser.add_argument(
        "--repeats", type=int, default=repeats, help="measurements per step (the median is shown)"
    )
    parser.add_argument(
        "--clock",
        choices=tuple(CLOCKS),
        default="wall",
        help="wall time, or this process's CPU time (steadier on a machine shared with others)",
    )
    return parser.parse_args()


def device_line() -> str:
    """``device: <kind> (<backend>), jax <version>``: the first line a benchmark prints."""
    device = jax.devices()[0]
    return f"device: {device.device_kind} ({jax.default_backend()}), jax {jax.__version__}"


# --------------------------------------------------------------------------- table
@dataclass(frozen=True)
class Column:
    """One column of a :class:`Table`: its `title`, `width` (characters, `suffix`
    included), the format `spec` of its values (e.g. ``".3f"``), a `suffix` printed after
    each value (``"x"``) and the alignment `align` (``">"`` or ``"<"``)."""

    title: str
    width: int
    spec: str = ""
    suffix: str = ""
    align: str = ">"


class Table:
    """A table printed a row at a time: :meth:`header`, then :meth:`row` per result."""

    def __init__(self, *columns: Column, sep: str = " "):
        self.columns = columns
        self.sep = sep

    def header(self) -> str:
        """The titles, each aligned in its column."""
        return self.sep.join(f"{c.title:{c.align}{c.width}}" for c in self.columns)

    def row(self, *values: Any) -> str:
        """One value per column, formatted with the column's spec and suffix."""
        if len(values) != len(self.columns):
            raise ValueError(f"a row takes {len(self.columns)} values, got {len(values)}.")
        return self.sep.join(
            f"{v:{c.align}{c.width - len(c.suffix)}{c.spec}}{c.suffix}"
            for c, v in zip(self.columns, values, strict=True)
        )


#: the column of a ratio of two times (``ngcx / twin``)
RATIO = Column("ratio", 7, ".3f")


def time_column(name: str, unit: str = "ms", width: int = 10, spec: str = ".3f") -> Column:
    """The column of the times of step `name`, titled ``"<name> <unit>"``."""
    return Column(f"{name} {unit}", width, spec)


def ratio_columns(
    extra: Iterable[str] = (), *, unit: str = "ms", width: int = 10, spec: str = ".3f"
) -> tuple[Column, ...]:
    """The columns ``ngcx <unit>``, ``twin <unit>``, ``ratio``, then ``<name> <unit>``,
    ``ratio`` for every further step in `extra` (its time over the twin's): the values
    :func:`ratios` returns."""
    cols = [time_column("ngcx", unit, width, spec), time_column("twin", unit, width, spec), RATIO]
    for name in extra:
        cols += [time_column(name, unit, width, spec), RATIO]
    return tuple(cols)


def ratio_table(
    *keys: tuple[str, int],
    extra: Iterable[str] = (),
    unit: str = "ms",
    width: int = 10,
    spec: str = ".3f",
) -> Table:
    """A :class:`Table` of the key columns ``(title, width)`` (what a row is about: the
    batch size ...) followed by the :func:`ratio_columns`."""
    cols = ratio_columns(extra, unit=unit, width=width, spec=spec)
    return Table(*(Column(title, w) for title, w in keys), *cols)


def ratios(times: Mapping[str, float], extra: Iterable[str] = ()) -> tuple[float, ...]:
    """``ngcx, twin, ngcx / twin``, then ``t, t / twin`` for every step in `extra`: the
    values of the :func:`ratio_columns`."""
    twin = times["twin"]
    values = [times["ngcx"], twin, times["ngcx"] / twin]
    for name in extra:
        values += [times[name], times[name] / twin]
    return tuple(values)
