"""`make demo` works: the sample messages reach the bus, the oversized one is reported and kept."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration


def test_demo_runs_end_to_end():
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "demo.py")], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "== 4 events reached the bus demo-bus ==" in result.stdout
    assert "== 1 records reported failed (still in demo-source, nothing dropped) ==" in result.stdout
    assert '"error_code":"EntryTooLarge"' in result.stdout
    assert "demo-source holds 1 message(s)" in result.stdout
