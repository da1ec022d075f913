"""ngcx.distributed.initialize's argument checks (the runtime itself is tested by
tests/multiprocess, which launches several processes)."""

import pytest

from ngcx import cli, distributed


@pytest.fixture(autouse=True)
def _no_launcher(monkeypatch):
    for name in ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID",
                 "SLURM_NTASKS", "SLURM_JOB_ID", "OMPI_COMM_WORLD_SIZE",
                 "TPU_WORKER_HOSTNAMES"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


def test_single_process_without_flags_or_launcher():
    assert distributed.initialize() is False
    assert distributed.process_count() == 1 and distributed.process_index() == 0
    assert not distributed.is_initialized()
    distributed.barrier("no-op on one process")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(coordinator="127.0.0.1:1234"), "missing --num-processes, --process-id"),
        (dict(num_processes=2, process_id=0), "missing --coordinator"),
        (dict(coordinator="nohostport", num_processes=2, process_id=0), "HOST:PORT"),
        (dict(coordinator="h:1", num_processes=0, process_id=0), "--num-processes"),
        (dict(coordinator="h:1", num_processes=2, process_id=2), r"\[0, 2\)"),
        (dict(coordinator="h:1", num_processes=2, process_id=-1), "--process-id"),
        (
            dict(coordinator="h:1", num_processes=2, process_id=0, heartbeat_timeout_s=0),
            "heartbeat_timeout_s",
        ),  # fmt: skip
    ],
)
def test_partial_or_invalid_settings_name_the_flag(kwargs, match):
    with pytest.raises(ValueError, match=match):
        distributed.initialize(**kwargs)
    assert not distributed.is_initialized()


def test_environment_variables_are_read_and_checked(monkeypatch):
    monkeypatch.setenv("JAX_NUM_PROCESSES", "two")
    with pytest.raises(ValueError, match=r"\$JAX_NUM_PROCESSES must be an integer"):
        distributed.initialize()
    monkeypatch.setenv("JAX_NUM_PROCESSES", "2")
    monkeypatch.setenv("JAX_PROCESS_ID", "5")
    monkeypatch.setenv("JAX_COORDINATOR_ADDRESS", "127.0.0.1:1")
    with pytest.raises(ValueError, match=r"--process-id"):
        distributed.initialize()


def test_cli_partial_distributed_flags_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["train", "pcn", "--num-processes", "2", "--out", str(tmp_path / "o")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--coordinator" in err
    assert not (tmp_path / "o").exists()
