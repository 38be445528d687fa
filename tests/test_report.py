"""report.html in a real headless browser (Chromium over the DevTools protocol, tests/browser.py): it loads with
no script error and no request beyond the file itself, the epoch slider redraws the map with the run's own
assignments and copies of that epoch (a copy that serves nothing as a white ring), and its screenshot is not
blank. Outside CI the browser tests skip when no Chromium is installed (`apt-get install chromium`); CI
installs it (.ci/run), so there they run."""

from __future__ import annotations

import io
import os

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from placement import cli

from browser import Browser, chromium_binary
from conftest import run_quick, strict_json

CHROMIUM = chromium_binary()
needs_chromium = pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                                    reason="no chromium binary (apt-get install chromium); CI installs it")
MAX_REPORT_BYTES = 2_000_000


@pytest.fixture(scope="module")
def run_path(run_dir):
    return run_dir[0]


@pytest.fixture(scope="module")
def page(run_path):
    """The run's report.html open in headless Chromium."""
    if CHROMIUM is None:
        pytest.fail("CI must have chromium (.ci/run installs it)")
    with Browser(CHROMIUM) as browser:
        browser.open(run_path / "report.html")
        yield browser


def test_run_writes_a_small_self_contained_report(run_path):
    text = (run_path / "report.html").read_text()
    assert len(text.encode()) < MAX_REPORT_BYTES
    for outside in ("<script src", "<link", "@import", "url(http", "@font-face"):
        assert outside not in text


def test_no_report_leaves_it_out(quick, tmp_path):
    run_quick(tmp_path / "run", quick, "--no-report")
    assert (tmp_path / "run" / "metrics.json").is_file() and not (tmp_path / "run" / "report.html").exists()


@needs_chromium
def test_report_loads_without_errors_or_network(page, run_path):
    assert page.errors() == []
    assert page.evaluate("document.getElementById('report-errors').dataset.count") == "0"
    assert page.requested_urls() == [(run_path / "report.html").resolve().as_uri()]
    strategies = page.evaluate("[...document.getElementById('strategy').options].map(o => o.text.split(' ')[0])")
    assert strategies == list(strict_json(run_path / "metrics.json")["strategies"])
    assert page.evaluate("document.querySelectorAll('#summary tbody tr').length") == len(strategies)


@needs_chromium
def test_the_epoch_slider_redraws_the_map_with_that_epochs_assignments(page, run_path):
    a = pq.read_table(run_path / "assignments.parquet").to_pylist()
    copies = pq.read_table(run_path / "placements.parquet").to_pylist()
    drawn = {}
    for epoch in (0, 1):
        page.evaluate(f"(() => {{ const s = document.getElementById('epoch'); s.value = {epoch}; "
                      "s.dispatchEvent(new Event('input')); })()")
        drawn[epoch] = page.evaluate("document.getElementById('dynamic').innerHTML")
        lines = page.evaluate("document.querySelectorAll('#links line').length")
        assert lines == sum(row["strategy"] == "milp" and row["epoch"] == epoch for row in a)
        hosts = page.evaluate("new Set([...document.querySelectorAll('#hosts circle')].map(c => c.dataset.host))"
                              ".size")
        assert hosts == len({row["host"] for row in copies if row["strategy"] == "milp" and row["epoch"] == epoch})
    assert drawn[0] != drawn[1]


@needs_chromium
def test_the_screenshot_is_not_blank(page):
    pixels = np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("L"), np.float64)
    assert pixels.shape[0] > 600 and pixels.shape[1] > 600
    assert pixels.std() > 20  # a blank or single-colour page has none


@needs_chromium
def test_a_copy_that_serves_nothing_is_drawn_as_a_white_ring(idle_copy_run):
    run_path, idle = idle_copy_run
    assert cli.main(["report", str(run_path), "--overwrite"]) == 0
    with Browser(CHROMIUM) as browser:
        browser.open(run_path / "report.html")
        browser.evaluate(f"(() => {{ const s = document.getElementById('epoch'); s.value = {idle['epoch']}; "
                         "s.dispatchEvent(new Event('input')); })()")
        assert browser.errors() == []
        drawn = browser.evaluate("[...document.querySelectorAll('#hosts circle[data-idle=true]')]"
                                 ".map(c => [c.dataset.host, c.getAttribute('fill')])")
    assert drawn == [[idle["host"], "#fff"]]
