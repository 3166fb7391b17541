"""Publishing a run's output directories all together, or not at all.

Each output directory is built in full in a staging directory beside its target (same file
system, so renames are atomic); only when every one of them is complete are they swapped in.
A run that fails anywhere before the swap leaves the previous outputs exactly as they were.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def staged_dirs(targets: Sequence[Path]) -> Iterator[list[Path]]:
    """Yield one empty staging directory per target; on a clean exit replace every target with its stage."""
    staged: list[Path] = []
    try:
        for target in targets:
            target = Path(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.staging-", dir=target.parent))
            stage.chmod(0o777 & ~_umask())  # mkdtemp makes it private; the output is an ordinary directory
            staged.append(stage)
        yield staged
        _swap(list(map(Path, targets)), staged)
    finally:
        for path in staged:
            shutil.rmtree(path, ignore_errors=True)


def _swap(targets: list[Path], staged: list[Path]) -> None:
    """Move the old targets aside, the stages in, then delete the old ones (restoring them on failure)."""
    retired: list[tuple[Path, Path]] = []
    try:
        for target, stage in zip(targets, staged, strict=True):
            if target.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
                os.replace(target, old / target.name)
                retired.append((target, old))
            os.replace(stage, target)
    except OSError:
        for target, old in retired:
            if target.exists():
                shutil.rmtree(target)
            os.replace(old / target.name, target)
        raise
    for _, old in retired:
        shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
