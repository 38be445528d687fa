"""The distribution as pip builds it (issue 17): the wheel of a copy of this checkout, read back with zipfile
and the standard library's e-mail parser (wheel METADATA is in that format): its name on the package index,
the version written once in placement/__init__.py, the MIT licence file, the py.typed marker and the data
files the package reads."""

from __future__ import annotations

import email.parser
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import placement

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    # A copy, so that the build's own folders (build/, *.egg-info) never land in the checkout.
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source)
    shutil.copytree(ROOT / "placement", source / "placement", ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                            "--wheel-dir", str(source / "dist"), str(source)], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    (path,) = (source / "dist").glob("*.whl")
    return zipfile.ZipFile(path)


def test_the_wheel_is_leo_placement_at_the_package_version(wheel):
    (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    fields = email.parser.Parser().parsestr(wheel.read(metadata).decode())
    assert (fields["Name"], fields["Version"]) == ("leo-placement", placement.__version__)
    assert fields["License-Expression"] == "MIT"
    (entry_points,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    assert "placement = placement.cli:main" in wheel.read(entry_points).decode()


def test_the_wheel_holds_the_licence_the_type_marker_and_the_data(wheel):
    names = set(wheel.namelist())
    (licence,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    text = wheel.read(licence).decode()
    assert text.startswith("MIT License") and "the placement authors" in text
    assert "placement/py.typed" in names
    shipped = {str(p.relative_to(ROOT)) for p in (ROOT / "placement").rglob("*")
               if p.suffix in (".csv", ".npz", ".toml", ".tle") or p.name == "README.md"}
    assert shipped and shipped <= names
