"""Publishing a run's output directories all together, or not at all.

Each output directory is built in full in a staging directory in the hidden `.dunning-tmp/` folder
beside its target (same file system, so renames are atomic; never inside a declared output, see
core.lifecycle); only when every one of them is complete are they swapped in. A run that fails
anywhere before the swap leaves the previous outputs exactly as they were; one whose parent process
is gone swaps nothing in; a signal waits until the swap is done.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from core import lifecycle


@contextmanager
def staged_dirs(targets: Sequence[Path]) -> Iterator[list[Path]]:
    """Yield one empty staging directory per target; on a clean exit replace every target with its stage."""
    staged: list[Path] = []
    try:
        for target in targets:
            target = Path(target)
            staged.append(lifecycle.temp_dir(target.parent, target.name, "staging"))
        yield staged
        with lifecycle.publishing():
            _swap(list(map(Path, targets)), staged)
    finally:
        for path in staged:
            lifecycle.release(path)


def _swap(targets: list[Path], staged: list[Path]) -> None:
    """Move the old targets aside, the stages in, then delete the old ones (restoring them on failure)."""
    retired: list[tuple[Path, Path]] = []
    try:
        for target, stage in zip(targets, staged, strict=True):
            if target.exists():
                old = lifecycle.temp_dir(target.parent, target.name, "old")
                os.replace(target, old / target.name)
                retired.append((target, old))
            os.replace(stage, target)
    except BaseException:
        for target, old in retired:
            if target.exists():
                lifecycle.release(target)
            os.replace(old / target.name, target)
            lifecycle.release(old)
        raise
    for _, old in retired:
        lifecycle.release(old)
