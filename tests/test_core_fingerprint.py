"""Cache keys of generated books change with the code that generates them."""

from __future__ import annotations

from core import fingerprint


def test_fingerprint_follows_the_source(tmp_path, monkeypatch):
    (tmp_path / "pkg").mkdir()
    module = tmp_path / "pkg" / "world.py"
    module.write_text("RATE = 1\n")
    monkeypatch.setattr(fingerprint, "SOURCE_ROOT", tmp_path)
    first = fingerprint.source_fingerprint("pkg")
    assert first == fingerprint.source_fingerprint("pkg")
    module.write_text("RATE = 2\n")
    assert fingerprint.source_fingerprint("pkg") != first


def test_fingerprint_of_the_project_packages_is_short_hex():
    value = fingerprint.source_fingerprint("core", "simulator")
    assert len(value) == 10 and int(value, 16) >= 0
