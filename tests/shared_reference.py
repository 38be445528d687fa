"""Where ../shared/reference (the project's real data) is, for tests that read it.

Tests that need a file mark themselves with `needs(name)`: skipped, with the path in the
reason, on a checkout that has no shared/ folder beside it.
"""

from pathlib import Path

import pytest

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"


def needs(name: str):
    path = REFERENCE / name
    return pytest.mark.skipif(not path.exists(), reason=f"reference data not present at {path}")
