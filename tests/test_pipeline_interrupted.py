"""Interrupted runs: a killed stage leaves no debris in its outputs, a stage whose parent is gone publishes nothing.

The stages run as real processes (`python -m pipeline features`), held after their first partition
by a patched `build_all` in the child (no test hook in the library), then killed.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from features_data import random_book

from core import lifecycle
from core.io import atomic_path, write_tables
from core.params import parse_params
from core.paths import PROJECT_ROOT
from pipeline.stages import features as stage
from validation.publish import staged_dirs

PARAMS = {"features": {"partition_accounts": 20}}  # 3 partitions of the 60-account book

# The stage as DVC runs it (`python -m pipeline features ...`), its second partition held until GO exists.
HELD_STAGE = """
import os, runpy, sys, time
from pathlib import Path
import pipeline.stages.features as stage
real, calls, held_file, go = stage.build_all, [], Path(sys.argv[1]), Path(sys.argv[2])
def held(*args, **kwargs):
    calls.append(1)
    if len(calls) == 2:  # the first partition is in the temporary outputs
        held_file.write_text(str(os.getpid()))
        while not go.exists():
            time.sleep(0.05)
    return real(*args, **kwargs)
stage.build_all = held
sys.argv = ["pipeline", *sys.argv[3:]]
runpy.run_module("pipeline", run_name="__main__")
"""

# A parent that starts its command and waits (as `dvc` does), until it is killed.
PARENT = "import subprocess, sys, time; subprocess.Popen(sys.argv[1:]); time.sleep(600)"


@pytest.fixture
def project(tmp_path):
    """Validated tables, a params file and a first, clean run of `features` into processed/."""
    write_tables(random_book(60, 8, seed=7), tmp_path / "validated")
    (tmp_path / "params.yaml").write_text("features:\n  partition_accounts: 20\n")
    (tmp_path / ".dvcignore").write_text((PROJECT_ROOT / ".dvcignore").read_text())
    stage.run(parse_params(PARAMS), tmp_path / "validated", tmp_path / "processed", tmp_path / "features.json")
    return tmp_path


def _held_stage(root: Path) -> list[str]:
    return [
        sys.executable,
        "-c",
        HELD_STAGE,
        str(root / "held"),
        str(root / "go"),
        "features",
        "--params-file",
        str(root / "params.yaml"),
        "--in-dir",
        str(root / "validated"),
        "--out-dir",
        str(root / "processed"),
        "--metrics-file",
        str(root / "features.json"),
    ]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DVC_STAGE", "DVC_ROOT")}
    return {**env, "PYTHONPATH": str(PROJECT_ROOT), **extra}


def _wait_until_held(root: Path, started: subprocess.Popen) -> int:
    deadline = time.monotonic() + 60
    while not (root / "held").exists() or not (root / "held").read_text():
        assert started.poll() is None, f"exited with {started.returncode} before its second partition"
        assert time.monotonic() < deadline, "the stage never reached its second partition"
        time.sleep(0.05)
    return int((root / "held").read_text())


def _wait_until_gone(pid: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return
        if state == "Z":  # exited; its new parent has not reaped it yet
            return
        assert time.monotonic() < deadline, f"process {pid} still running"
        time.sleep(0.05)


def _files(directory: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under `directory` (inode and bytes: a republished file is a new inode even when
    its bytes are the same), by relative path, except the scratch folder's."""
    return {
        str(p.relative_to(directory)): (p.stat().st_ino, p.read_bytes())
        for p in sorted(directory.rglob("*"))
        if p.is_file() and lifecycle.SCRATCH not in p.relative_to(directory).parts
    }


def _dvc_hash(path: Path, ignore_root: Path | None = None) -> str:
    """DVC's md5 of a directory output, through DVC's own .dvcignore filter when `ignore_root` is given."""
    from dvc.fs import LocalFileSystem
    from dvc.ignore import DvcIgnoreFilter
    from dvc_data.hashfile.build import build
    from dvc_data.hashfile.db import HashFileDB

    fs = LocalFileSystem()
    ignore = DvcIgnoreFilter(fs, str(ignore_root)) if ignore_root is not None else None
    with tempfile.TemporaryDirectory() as scratch:
        _, _, obj = build(HashFileDB(fs, scratch), str(path), fs, "md5", dry_run=True, ignore=ignore)
    return str(obj.hash_info.value)


def _as_a_new_process(monkeypatch) -> None:
    """The sweep spares what was made after this process started: make the next run in-process a new one."""
    monkeypatch.setattr(lifecycle, "_STARTED", time.time())
    monkeypatch.setattr(lifecycle, "_swept", set())


def test_sigkill_during_features_leaves_the_outputs_as_dvc_recorded_them(project, monkeypatch):
    processed = project / "processed"
    clean_files, clean_hash = _files(processed), _dvc_hash(processed)
    held = subprocess.Popen(_held_stage(project), cwd=PROJECT_ROOT, env=_env(), start_new_session=True)
    try:
        _wait_until_held(project, held)
    finally:
        os.killpg(held.pid, signal.SIGKILL)
        held.wait()

    assert _files(processed) == clean_files, "nothing but the ignored scratch folder changed"
    assert list((processed / lifecycle.SCRATCH).iterdir()), "the run was killed with its temporary outputs open"
    assert _dvc_hash(processed, ignore_root=project) == clean_hash, "DVC sees the outputs it recorded"

    _as_a_new_process(monkeypatch)
    stage.run(parse_params(PARAMS), project / "validated", processed, project / "features.json")
    assert not (processed / lifecycle.SCRATCH).exists(), "the next run swept the debris"
    assert _dvc_hash(processed) == clean_hash


@pytest.mark.parametrize("through_shell", [False, True], ids=["dvc-parent", "shell-between"])
def test_a_stage_whose_parent_is_killed_publishes_nothing(project, through_shell):
    """SIGKILL of `dvc` alone: the stage dies with it (PR_SET_PDEATHSIG) or, when a shell stands
    between them and lives on, refuses to publish (the parent check); either way no debris."""
    processed = project / "processed"
    clean_files = _files(processed)
    command = _held_stage(project)
    if through_shell:  # `sh -c 'CMD; exit $?'` keeps the shell alive as the stage's parent
        command = ["sh", "-c", f"{shlex.join(command)}; exit $?"]
    with open(project / "stderr.txt", "w") as stderr:
        parent = subprocess.Popen(
            [sys.executable, "-c", PARENT, *command],
            cwd=PROJECT_ROOT,
            env=_env(DVC_STAGE="features", DVC_ROOT=str(project)),
            stderr=stderr,
            start_new_session=True,
        )
    try:
        pid = _wait_until_held(project, parent)
    finally:
        parent.kill()
        parent.wait()
    (project / "go").touch()
    _wait_until_gone(pid)

    assert _files(processed) == clean_files, "the orphaned stage published nothing"
    assert not (processed / lifecycle.SCRATCH).exists(), "and removed its temporary files"
    log = (project / "stderr.txt").read_text()
    why = "is gone" if through_shell else "stopped by SIGTERM"  # the parent check; the kernel's SIGTERM
    assert "aborted:" in log and why in log and "Traceback" not in log, log


def test_publishing_refuses_when_the_parent_is_gone(tmp_path, monkeypatch):
    target = tmp_path / "out.json"
    target.write_text("previous")
    monkeypatch.setattr(lifecycle, "_bound", (_dead_pid(),))
    with pytest.raises(lifecycle.Aborted, match="is gone"), atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_a_swap_killed_half_way_is_rolled_back_by_the_next_run(tmp_path, monkeypatch):
    """SIGKILL between moving an output directory aside and moving its replacement in: the next
    run puts the previous output back instead of sweeping it away."""
    for name in ("validated", "quarantine"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "t.parquet").write_text(f"previous {name}")
    killed_mid_swap = f"""
import os, signal
from pathlib import Path
from validation import publish
real, calls = os.replace, []
def replace(src, dst):
    real(src, dst)
    calls.append(1)
    if len(calls) == 3:  # validated swapped in, quarantine moved aside, its replacement not yet in
        os.kill(os.getpid(), signal.SIGKILL)
publish.os.replace = replace
root = Path({str(tmp_path)!r})
with publish.staged_dirs([root / "validated", root / "quarantine"]) as stages:
    for stage in stages:
        (stage / "t.parquet").write_text("new")
"""
    done = subprocess.run([sys.executable, "-c", killed_mid_swap], cwd=PROJECT_ROOT, env=_env(), timeout=60)
    assert done.returncode == -signal.SIGKILL
    assert not (tmp_path / "quarantine").exists(), "killed with quarantine/ moved aside"

    _as_a_new_process(monkeypatch)
    lifecycle.sweep(tmp_path)
    assert (tmp_path / "quarantine" / "t.parquet").read_text() == "previous quarantine"
    assert (tmp_path / "validated" / "t.parquet").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["quarantine", "validated"]


def test_sweep_removes_only_what_dead_runs_of_ours_left(tmp_path, monkeypatch):
    scratch = tmp_path / lifecycle.SCRATCH
    scratch.mkdir()
    dead, live = _dead_pid(), os.getppid()
    for name in (f"a.parquet.tmp.{dead}.x1", f"b.parquet.tmp.{live}.x3", "notes.txt"):
        (scratch / name).write_text("")
    (scratch / f"v.staging.{dead}.x2").mkdir()
    _as_a_new_process(monkeypatch)
    for entry in scratch.iterdir():  # made before this process started
        os.utime(entry, (lifecycle._STARTED - 60, lifecycle._STARTED - 60))
    (scratch / f"c.parquet.tmp.{dead}.x4").write_text("")  # made after this process started: spared
    os.utime(scratch / f"c.parquet.tmp.{dead}.x4", (lifecycle._STARTED + 1, lifecycle._STARTED + 1))
    removed = lifecycle.sweep(tmp_path)
    assert sorted(p.name for p in removed) == [f"a.parquet.tmp.{dead}.x1", f"v.staging.{dead}.x2"]
    assert sorted(p.name for p in scratch.iterdir()) == [
        f"b.parquet.tmp.{live}.x3",
        f"c.parquet.tmp.{dead}.x4",
        "notes.txt",
    ]


def test_staged_dirs_build_outside_the_outputs(tmp_path):
    target = tmp_path / "validated"
    with staged_dirs([target]) as (built,):
        assert built.parent == tmp_path / lifecycle.SCRATCH
        (built / "t.parquet").write_text("x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["validated"]


def _dead_pid() -> int:
    finished = subprocess.Popen(["true"])
    finished.wait()
    return finished.pid
