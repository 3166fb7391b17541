"""Habits the build relies on: one source of environment defaults, import contracts that see every room."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

from core import environment
from core.fingerprint import SOURCE_ROOT

PYPROJECT = tomllib.loads((SOURCE_ROOT / "pyproject.toml").read_text())
VARIABLES = {**environment.DEFAULTS, **environment.AT_INTERPRETER_START}
#: The project's top-level packages, as setuptools finds them (some may not exist yet).
ROOMS = sorted(name.rstrip("*") for name in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"])


def test_apply_sets_the_defaults_and_keeps_what_is_already_set():
    env = {"MLFLOW_DISABLE_TELEMETRY": "false"}
    environment.apply(env)
    assert env == {**environment.DEFAULTS, "MLFLOW_DISABLE_TELEMETRY": "false"}
    environment.apply(env, override=True)
    assert env == environment.DEFAULTS


def test_the_makefile_exports_what_the_module_prints():
    printed = subprocess.run(
        [sys.executable, str(SOURCE_ROOT / "core" / "environment.py")], capture_output=True, text=True, check=True
    ).stdout.split()
    assert dict(a.split("=", 1) for a in printed) == VARIABLES
    assert "$(shell $(PYTHON) core/environment.py)" in (SOURCE_ROOT / "Makefile").read_text()


def test_no_other_file_sets_the_environment_defaults():
    names = "|".join(map(re.escape, VARIABLES))
    setting = re.compile(rf"""(setdefault\(|setenv\(|environ\[|export\s+)\s*["']?({names})\b""")
    folders = [*ROOMS, "tests", "benchmarks"]
    files = [p for folder in folders for p in sorted((SOURCE_ROOT / folder).rglob("*.py"))]
    offenders = [
        str(p.relative_to(SOURCE_ROOT))
        for p in [*files, SOURCE_ROOT / "Makefile"]
        if p != SOURCE_ROOT / "core" / "environment.py" and setting.search(p.read_text())
    ]
    assert offenders == [], "set these through core.environment.apply()"


def test_import_contracts_cover_every_package():
    # import-linter only sees root_packages: a new room left out of the list would go unchecked.
    existing = {room for room in ROOMS if (SOURCE_ROOT / room / "__init__.py").exists()}
    config = PYPROJECT["tool"]["importlinter"]
    assert set(config["root_packages"]) == existing
    layered = {
        m.strip("() ")
        for c in config["contracts"]
        if c["type"] == "layers"
        for layer in c["layers"]
        for m in layer.split("|")
    }
    assert set(ROOMS) <= layered
    acyclic = {a for c in config["contracts"] if c["type"] == "acyclic_siblings" for a in c["ancestors"]}
    assert acyclic == existing
