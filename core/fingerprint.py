"""A short digest of the project's own source code, to key caches of generated data.

Benchmarks keep large simulated books between runs; a book made by an older simulator or
schema must not be measured as if it were today's, so the cache directory carries the digest
of the code that generates it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

#: The code's own location (not PROJECT_ROOT, which DUNNING_ROOT may point at a data-only tree).
SOURCE_ROOT = Path(__file__).resolve().parents[1]


def source_fingerprint(*packages: str, length: int = 10) -> str:
    """Hex digest of every .py file (path and content) under the named top-level packages."""
    digest = hashlib.sha256()
    for package in sorted(packages):
        for path in sorted((SOURCE_ROOT / package).rglob("*.py")):
            digest.update(path.relative_to(SOURCE_ROOT).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:length]
