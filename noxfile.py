"""Sessions: ``tests``, ``lint``, ``typecheck``, ``multidevice``, ``multiprocess``, ``docs``,
``notebooks``, ``floors`` (``.ci/run`` runs them all)."""

from pathlib import Path

import nox


nox.options.sessions = [
    "tests",
    "lint",
    "typecheck",
    "multidevice",
    "multiprocess",
    "docs",
    "notebooks",
    "floors",
]
nox.options.reuse_existing_virtualenvs = True
# uv creates the virtualenvs and installs into them (~3 s for ``.[test]`` against ~20 s with
# pip, eight times per CI run); plain virtualenv + pip where uv is not installed.
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.error_on_missing_interpreters = True

PYTHON = "3.11"


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite with jaxtyping's import hook and beartype over ``ngcx``, one
    pytest-xdist worker per CPU (``--dist loadfile`` keeps each file's shared compiled
    fixtures in one worker; on the 2-core CI machine 9 min instead of 14)."""
    session.install("-e", ".[test]")
    args = session.posargs or ["-n", "auto", "--dist", "loadfile"]
    session.run("pytest", "-q", "-p", "no:cacheprovider", *args)


@nox.session(python=PYTHON)
def multidevice(session: nox.Session) -> None:
    """Data-parallel tests on 4 forced host (CPU) devices."""
    session.install("-e", ".[test]")
    env = {"XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    session.run("pytest", "-q", "-p", "no:cacheprovider", "tests/multidevice", env=env)


@nox.session(python=PYTHON)
def multiprocess(session: nox.Session) -> None:
    """Multi-process training on JAX's distributed runtime: 2 processes on 127.0.0.1 with 2
    forced CPU devices each (Gloo), compared with 1 process on 4 devices and on 1 device;
    resume across processes; a killed process stops the other with a clear error."""
    session.install("-e", ".[test]")
    env = {"NGCX_MULTIPROCESS_TESTS": "1"}
    session.run("pytest", "-q", "-p", "no:cacheprovider", "tests/multiprocess", env=env)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Ruff: lint and import order."""
    session.install("ruff==0.17.6")  # pinned: formatting must not drift
    candidates = ("src", "tests", "benchmarks", "examples", "notebooks", "noxfile.py")
    paths = [p for p in candidates if Path(p).exists()]
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """Mypy over ``src`` (pyright evaluates jaxtyping's shape strings as forward
    references and reports every annotation, so mypy is the checker here)."""
    session.install("-e", ".", "mypy>=1.10")
    session.run("mypy", "src")


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the documentation site (mkdocs-material + mkdocstrings) with ``--strict`` (a
    broken link, a missing page or an unresolvable API reference fails the build) and check
    it (``docs/check_site.py``: constructors shown, no script from another host, no private
    module name). The tutorials are rendered with their outputs: ``notebooks/execute.py``
    runs first and executes only the notebooks whose inputs changed since their last run
    (so with ``notebooks`` in the same CI run they execute once)."""
    session.install("-e", ".[docs,notebooks]")
    session.run("python", "notebooks/execute.py")
    site = str(Path(session.create_tmp()) / "site")
    session.run("mkdocs", "build", "--strict", "--site-dir", site)
    session.run("python", "docs/check_site.py", site)


@nox.session(python=PYTHON)
def notebooks(session: nox.Session) -> None:
    """Execute every tutorial notebook (jupytext scripts in ``notebooks/``, each paired with
    its ``.ipynb``) with nbclient; each must run without error in under two minutes. An
    up-to-date execution (same scripts, sources and library versions, e.g. by the ``docs``
    session) is reused; ``nox -s notebooks -- --force`` runs them all again."""
    session.install("-e", ".[notebooks]")
    session.run("python", "notebooks/execute.py", *session.posargs)


# What the ``floors`` session runs when given no arguments: the modules that exercise the APIs
# the floors were raised for (equinox and jax internals, jax.shard_map, jax.enable_x64, conv
# padding, optax, the plots, scikit-learn and scipy references, serialisation), ~3 min.
FLOORS_TESTS = (
    "tests/test_design.py",
    "tests/test_params_lif.py",
    "tests/test_plasticity.py",
    "tests/test_pcn.py",
    "tests/test_flat.py",
    "tests/test_cells.py",
    "tests/test_synapses_extra.py",
    "tests/test_metrics.py",
    "tests/test_io.py",
)


@nox.session(python=PYTHON)
def floors(session: nox.Session) -> None:
    """The tests at the lowest versions ``pyproject.toml`` allows: every direct dependency
    and ``test`` extra pinned to its ``>=`` floor (``.ci/lowest_constraints.py``; transitive
    ones are left to pip), then a representative subset and the 4-device tests.
    ``nox -s floors -- tests`` runs the whole suite (~11 min) instead of the subset."""
    constraints = Path(session.create_tmp()) / "floors.txt"
    session.run("python", ".ci/lowest_constraints.py", "--extra", "test", "-o", str(constraints))
    session.install("-c", str(constraints), "-e", ".[test]")
    if session.venv_backend == "uv":
        session.run("uv", "pip", "check")
    else:
        session.run("python", "-m", "pip", "check")
    session.run("python", ".ci/lowest_constraints.py", "--check", str(constraints))
    paths = session.posargs or FLOORS_TESTS
    parallel = ["-n", "auto", "--dist", "loadfile"]  # pytest-xdist at its floor too
    session.run("pytest", "-q", "-p", "no:cacheprovider", *parallel, *paths)
    if not session.posargs:
        env = {"XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
        session.run("pytest", "-q", "-p", "no:cacheprovider", "tests/multidevice", env=env)
