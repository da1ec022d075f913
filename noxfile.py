"""Sessions: ``tests``, ``lint``, ``typecheck``, ``multidevice``, ``docs``, ``notebooks``
(``.ci/run`` runs them all)."""

from pathlib import Path

import nox


nox.options.sessions = ["tests", "lint", "typecheck", "multidevice", "docs", "notebooks"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

PYTHON = "3.11"


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite with jaxtyping's import hook and beartype over ``ngcx``."""
    session.install("-e", ".[test]")
    session.run("pytest", "-q", "-p", "no:cacheprovider", *session.posargs)


@nox.session(python=PYTHON)
def multidevice(session: nox.Session) -> None:
    """Data-parallel tests on 4 forced host (CPU) devices."""
    session.install("-e", ".[test]")
    env = {"XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    session.run("pytest", "-q", "-p", "no:cacheprovider", "tests/multidevice", env=env)


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
    """Build the documentation site (mkdocs-material + mkdocstrings) with ``--strict``:
    a broken link, a missing page or an unresolvable API reference fails the build."""
    session.install("-e", ".[docs]")
    session.run(
        "mkdocs", "build", "--strict", "--site-dir", str(Path(session.create_tmp()) / "site")
    )


@nox.session(python=PYTHON)
def notebooks(session: nox.Session) -> None:
    """Execute every tutorial notebook (jupytext scripts in ``notebooks/``) with nbclient;
    each must run without error in under two minutes."""
    session.install("-e", ".[notebooks]")
    session.run("python", "notebooks/execute.py", *session.posargs)
