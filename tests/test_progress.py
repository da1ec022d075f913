"""Progress reporting (a bar only on a terminal, plain lines otherwise, estimates without
compilation), the CLI's compilation cache directory, and the lazy top-level imports."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ngcx import _compile_cache
from ngcx._progress import Progress, format_seconds


class _Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _run(progress, clock, epochs=2, steps=5, compile_s=30.0, step_s=0.1):
    progress.start()
    for epoch in range(epochs):
        for step in range(steps):
            clock.now += compile_s if (epoch, step) == (0, 0) else step_s
            progress.update()
        progress.epoch(f"epoch {epoch + 1}/{epochs}")
    progress.close()


def test_piped_output_has_plain_lines_and_estimates_without_compilation():
    err, out, clock = io.StringIO(), io.StringIO(), _Clock()
    progress = Progress("pcn", 10, stream=err, out=out, clock=clock)
    assert not progress.interactive
    _run(progress, clock)
    text = err.getvalue() + out.getvalue()
    assert "\r" not in text
    assert err.getvalue().splitlines() == [
        "pcn: compiling the training step...",
        "pcn: first step (with compilation) took 30.0s; 10 batches in all",
    ]
    first, second = out.getvalue().splitlines()
    # 4 steps of 0.1 s after the compiled one: ~0.5 s left, not the 30 s compilation
    assert first == "epoch 1/2  [0:30 elapsed, ~0:00 left]"
    assert second == "epoch 2/2  [0:31 elapsed]"
    assert progress.compile_s == pytest.approx(30.0)


def test_estimate_counts_only_the_steps_after_the_first():
    clock = _Clock()
    progress = Progress(
        "x", 101, unit="sample", stream=io.StringIO(), out=io.StringIO(), clock=clock
    )
    progress.start()
    clock.now += 600.0  # compilation
    progress.update()
    for _ in range(50):
        clock.now += 1.0
        progress.update()
    assert progress.timing() == "10:50 elapsed, ~0:50 left"


def test_terminal_gets_a_bar_created_after_the_first_step():
    err, out, clock = _Terminal(), io.StringIO(), _Clock()
    progress = Progress("pcn", 10, stream=err, out=out, clock=clock)
    assert progress.interactive
    progress.start()
    assert err.getvalue() == "pcn: compiling the training step...\n"
    clock.now += 5.0
    progress.update()
    bar = progress._bar
    assert bar is not None and bar.n == 1
    assert bar.format_dict["initial"] == 1  # the rate leaves the compiled step out
    for _ in range(9):
        clock.now += 0.1
        progress.update()
    assert bar.n == 10
    progress.epoch("epoch 1/1")
    progress.close()
    assert "\r" in err.getvalue()  # tqdm's bar
    assert out.getvalue().splitlines() == ["epoch 1/1"]  # no timings next to a bar


def test_no_progress_prints_only_the_epoch_lines():
    err, out, clock = _Terminal(), io.StringIO(), _Clock()
    _run(Progress("pcn", 10, enabled=False, stream=err, out=out, clock=clock), clock)
    assert err.getvalue() == ""
    assert out.getvalue().splitlines() == ["epoch 1/2", "epoch 2/2"]


def test_format_seconds():
    assert format_seconds(0.4) == "0:00"
    assert format_seconds(61) == "1:01"
    assert format_seconds(3 * 3600 + 62) == "3:01:02"


def test_compile_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    assert _compile_cache.default_cache_dir() is None  # conftest: off in the test suite
    monkeypatch.delenv(_compile_cache.ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert _compile_cache.default_cache_dir() == tmp_path / "ngcx" / "jax"
    monkeypatch.setenv(_compile_cache.ENV, str(tmp_path / "mine"))
    assert _compile_cache.default_cache_dir() == tmp_path / "mine"
    for off in ("0", "off", "False"):
        monkeypatch.setenv(_compile_cache.ENV, off)
        assert _compile_cache.default_cache_dir() is None
    monkeypatch.delenv(_compile_cache.ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    if sys.platform.startswith("linux"):
        assert _compile_cache.default_cache_dir() == tmp_path / "home" / ".cache" / "ngcx" / "jax"
    package = Path(_compile_cache.__file__).parent
    assert package not in _compile_cache.default_cache_dir().parents


def test_compile_cache_is_set_for_the_block_and_restored(tmp_path):
    import jax

    before = jax.config.jax_compilation_cache_dir
    if before:
        pytest.skip("the environment sets its own JAX compilation cache")
    with _compile_cache.compile_cache(tmp_path / "c") as used:
        assert used == tmp_path / "c" and used.is_dir()
        assert jax.config.jax_compilation_cache_dir == str(used)
    assert jax.config.jax_compilation_cache_dir == before
    with _compile_cache.compile_cache(None) as used:
        assert used is None and jax.config.jax_compilation_cache_dir == before


def _python(code, *args, env=None, timeout=120):
    full_env = {**os.environ, "NGCX_COMPILE_CACHE": "0", **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )


def test_import_ngcx_loads_nothing_heavy_and_keeps_every_name():
    code = (
        "import sys, ngcx\n"
        "heavy = sorted(m for m in ('jax', 'numpy', 'equinox', 'ngcx.cells') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
        "assert {'cells', 'synapses', 'FlatStep', 'get_surrogate'} <= set(dir(ngcx))\n"
        "from ngcx import cells, FlatStep, SURROGATES, debug_nans\n"
        "assert ngcx.cells is cells and 'arctan' in SURROGATES\n"
        "assert ngcx.models.PCN and not hasattr(ngcx, 'no_such_name')\n"
        "print('ok')\n"
    )
    result = _python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok\n"


def test_every_public_name_resolves():
    import ngcx

    for name in ngcx.__all__:
        assert getattr(ngcx, name) is not None
    assert set(ngcx.__all__) <= set(dir(ngcx))
