"""Progress of a training run: a tqdm bar on a terminal, plain lines otherwise.

:class:`Progress` is what every training loop reports through:

- ``start()`` prints ``"<name>: compiling the training step..."`` before the first
  step, so a run says what it is doing within its first seconds;
- ``update()`` after each step: on a terminal (the progress stream's ``isatty()``) a tqdm
  bar, created only after the first step so that its rate and time estimate leave the
  compilation out; otherwise nothing per step (a log piped to a file gets no
  carriage-return fragments);
- ``epoch(message)`` prints one result line per epoch to stdout (above the bar on a
  terminal); without a bar the line ends with the elapsed and the estimated remaining
  time, again without the compilation;
- ``close()``.

With ``enabled=False`` (``--no-progress``) only the epoch lines are printed, without
timings.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any


__all__ = ["Progress", "format_seconds"]


def format_seconds(seconds: float | int) -> str:
    """``m:ss`` (or ``h:mm:ss``) for a duration in seconds."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class Progress:
    """Report a run of `total` steps (`unit`: ``"batch"``, ``"sample"``) named `name`.

    `stream` (default ``sys.stderr``, read when the object is made) carries the
    compilation notice and the bar; epoch lines go to `out` (default ``sys.stdout``).
    `clock` is for tests."""

    def __init__(
        self,
        name: str,
        total: int,
        *,
        unit: str = "batch",
        enabled: bool = True,
        stream: Any = None,
        out: Any = None,
        clock: Callable[[], float] = time.perf_counter,
    ):
        self.name = name
        self.total = total
        self.unit = unit
        self.enabled = enabled
        self.stream = sys.stderr if stream is None else stream
        self.out = sys.stdout if out is None else out
        self.interactive = enabled and _isatty(self.stream)
        self.clock = clock
        self.done = 0
        self.compile_s: float | None = None
        self._started: float | None = None
        self._after_first: float | None = None
        self._bar: Any = None

    def start(self) -> None:
        """Say that the first step compiles (call just before it)."""
        self._started = self.clock()
        if self.enabled:
            print(f"{self.name}: compiling the training step...", file=self.stream, flush=True)

    def update(self, n: int = 1) -> None:
        """Count `n` finished steps."""
        if self.done == 0:
            now = self.clock()
            self._after_first = now
            self.compile_s = now - (now if self._started is None else self._started)
            if self.enabled and not self.interactive:
                plural = "es" if self.unit.endswith(("ch", "sh", "s", "x")) else "s"
                print(
                    f"{self.name}: first step (with compilation) took {self.compile_s:.1f}s; "
                    f"{self.total} {self.unit}{plural} in all",
                    file=self.stream,
                    flush=True,
                )
            self.done = n
            if self.interactive:
                from tqdm import tqdm

                self._bar = tqdm(
                    total=self.total,
                    initial=n,
                    unit=self.unit,
                    desc=self.name,
                    file=self.stream,
                    dynamic_ncols=True,
                )
            return
        self.done += n
        if self._bar is not None:
            self._bar.update(n)

    def timing(self) -> str:
        """Elapsed time since :meth:`start` and the estimated time left, from the steps
        after the first (compilation excluded): ``"0:12 elapsed, ~1:03 left"``."""
        now = self.clock()
        elapsed = now - (now if self._started is None else self._started)
        left = 0.0
        if self._after_first is not None and self.done > 1 and self.done < self.total:
            per_step = (now - self._after_first) / (self.done - 1)
            left = per_step * (self.total - self.done)
        text = f"{format_seconds(elapsed)} elapsed"
        return f"{text}, ~{format_seconds(left)} left" if self.done < self.total else text

    def epoch(self, message: str) -> None:
        """Print an epoch's result line (with timings when there is no bar)."""
        if self._bar is not None:
            self._bar.write(message, file=self.out)
        elif self.enabled:
            print(f"{message}  [{self.timing()}]", file=self.out, flush=True)
        else:
            print(message, file=self.out, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
