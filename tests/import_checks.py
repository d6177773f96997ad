"""Shared assertion for importer bad-input tests: one error line, exit 2, nothing left behind."""

from __future__ import annotations

from pathlib import Path

from app.cli import main


def assert_import_fails(source: Path, tmp_path: Path, capsys, culprit: Path | None, *words: str) -> None:
    """``sparsenerf import SOURCE tmp_path/out`` exits 2 with ONE ``error:`` line (naming ``culprit``
    when given, and containing every word of ``words``), and leaves no OUT and no staging folder."""
    out = tmp_path / "out"
    assert main(["import", str(source), str(out)]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("import [")]
    assert len(err) == 1, err
    if culprit is not None:
        assert err[0].startswith(f"error: {culprit}"), err
    for w in words:
        assert w in err[0], err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]  # no staging left
