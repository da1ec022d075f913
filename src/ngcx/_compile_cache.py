"""JAX's persistent compilation cache for the ``ngcx`` command.

The CLI compiles the same training and evaluation steps on every run; with JAX's
persistent compilation cache a repeat run loads them from disk instead. The command turns
it on by default (``--no-compile-cache`` turns it off) in the user's cache directory,
never inside the package:

- ``$NGCX_COMPILE_CACHE`` when set: a directory, or ``0``/``off``/``false``/``no`` to
  turn the cache off (for scripts and test suites);
- otherwise ``$XDG_CACHE_HOME/ngcx/jax`` when ``XDG_CACHE_HOME`` is an absolute path,
  else ``~/Library/Caches/ngcx/jax`` on macOS, ``%LOCALAPPDATA%\\ngcx\\Cache\\jax`` on
  Windows and ``~/.cache/ngcx/jax`` elsewhere.

A directory the user already gave JAX (``JAX_COMPILATION_CACHE_DIR`` or
``jax.config.update("jax_compilation_cache_dir", ...)``) is kept. The library itself
never turns the cache on; :func:`compile_cache` restores JAX's settings when the command
returns, so calling :func:`ngcx.cli.main` from Python leaves no global state behind.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path


__all__ = ["ENV", "default_cache_dir", "compile_cache"]

ENV = "NGCX_COMPILE_CACHE"
_OFF = {"0", "off", "false", "no", "none", ""}
# compilations shorter than this are not written. JAX's default (1 s) skips every step
# of `ngcx train pcn` on a CPU; measured there (30 epochs, --no-plots), a repeat run took
# 4.3 s with 1 s, 2.8 s with 0.1 s (6 entries) and 2.0 s with 0 (45 entries, 0.3 MB)
MIN_COMPILE_TIME_S = 0.0


def default_cache_dir() -> Path | None:
    """The directory the CLI caches compiled programs in (``None``: turned off by
    ``$NGCX_COMPILE_CACHE``); see the module's documentation for the rules."""
    env = os.environ.get(ENV)
    if env is not None:
        return None if env.strip().lower() in _OFF else Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if xdg and os.path.isabs(xdg):
        base = Path(xdg) / "ngcx"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches" / "ngcx"
    elif sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        base = Path(local) / "ngcx" / "Cache"
    else:
        base = Path.home() / ".cache" / "ngcx"
    return base / "jax"


_KEYS = (
    "jax_compilation_cache_dir",
    "jax_persistent_cache_min_compile_time_secs",
)


@contextlib.contextmanager
def compile_cache(path: str | os.PathLike | None) -> Iterator[Path | None]:
    """Turn JAX's persistent compilation cache on in `path` while the block runs
    (``None``: leave JAX as it is). A cache directory already set in JAX wins over
    `path`. Yields the directory in use (or ``None``); JAX's settings and in-memory cache
    state are restored on exit. An unusable directory turns the cache off with a one-line
    note on stderr instead of failing the run."""
    if path is None:
        yield None
        return
    import jax
    from jax.experimental.compilation_cache import compilation_cache as cc

    before = {key: getattr(jax.config, key) for key in _KEYS}
    if before["jax_compilation_cache_dir"]:  # the user's own choice
        yield Path(before["jax_compilation_cache_dir"])
        return
    directory = Path(path)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        print(
            f"ngcx: compilation cache off ({directory} is not usable: {err.strerror or err})",
            file=sys.stderr,
        )
        yield None
        return
    jax.config.update("jax_compilation_cache_dir", str(directory))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_TIME_S)
    cc.reset_cache()
    try:
        yield directory
    finally:
        for key, value in before.items():
            jax.config.update(key, value)
        cc.reset_cache()
