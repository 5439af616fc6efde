"""The wheel carries the themes, and an installed tuidesk finds them without a checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return next(out.glob("tuidesk-*.whl"))


def test_the_wheel_contains_the_bundled_themes(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    themes = {Path(n).name for n in names if n.startswith("tuidesk/_themes/")}
    assert "tuidesk-dark.toml" in themes
    assert {n for n in names if n.endswith(".tcss")}, "the stylesheets ship too"


def test_an_installed_tuidesk_finds_its_themes_outside_a_checkout(
    wheel: Path, tmp_path: Path
) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    probe = (
        "from tuidesk.core.paths import bundled_themes_dir; d = bundled_themes_dir(); "
        "print(d); print(sorted(p.name for p in d.glob('*.toml')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={"PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    where, listing = done.stdout.strip().splitlines()
    assert where.startswith(str(target))
    assert "tuidesk-dark.toml" in listing
