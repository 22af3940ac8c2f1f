"""`dvc plots show` with the offline page template (tools/plots_template.py) draws its plots in
headless Chromium with every host name unresolvable, while the default page, which loads vega
from a CDN, draws nothing there."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

SCRIPT = ROOT / "tools" / "plots_template.py"
BUILT = ROOT / ".dvc" / "plots-offline.html"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CURVE = [{"step": 0, "offline_loss": 0.91}, {"step": 1, "offline_loss": 0.52}, {"step": 2, "offline_loss": 0.27}]
PLOTS = """plots:
  - Offline check:
      template: linear
      x: step
      y:
        curve.json: offline_loss
"""
MARKS = re.compile(r"<svg[^>]*\bclass=\"marks\".*?</svg>", re.S)
REMOTE_SCRIPT = re.compile(r"<script[^>]*\ssrc\s*=\s*[\"']?(?:https?:)?//", re.I)

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium)")


def run(cwd: Path, *cmd: str, timeout: int = 120) -> str:
    env = dict(os.environ, DVC_NO_ANALYTICS="1")
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """The template `make install` built, or a fresh one when that is missing or older than the script."""
    if BUILT.is_file() and BUILT.stat().st_mtime >= SCRIPT.stat().st_mtime:
        return BUILT
    if shutil.which("npm") is None:
        pytest.skip("npm not installed, and no up-to-date .dvc/plots-offline.html to use")
    out = tmp_path_factory.mktemp("template") / "offline.html"
    run(ROOT, sys.executable, str(SCRIPT), str(out))
    return out


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """A git and DVC repository with one JSON curve and a top-level `plots:` entry drawing it."""
    path = tmp_path_factory.mktemp("plots-repo")
    run(path, "git", "init", "-q")
    run(path, sys.executable, "-m", "dvc", "init", "-q")
    (path / "curve.json").write_text(json.dumps(CURVE))
    (path / "dvc.yaml").write_text(PLOTS)
    return path


def show(repo: Path, out: str, *args: str) -> str:
    run(repo, sys.executable, "-m", "dvc", "plots", "show", "-o", out, *args)
    return (repo / out / "index.html").read_text(encoding="utf-8")


def dump_dom(repo: Path, out: str) -> str:
    """The page's DOM after 15 s of virtual time in headless Chromium that resolves no host name."""
    return run(repo, CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               f"--user-data-dir={repo / (out + '-profile')}", "--host-resolver-rules=MAP * ~NOTFOUND",
               "--virtual-time-budget=15000", "--dump-dom", (repo / out / "index.html").as_uri())


def test_offline_page_draws_the_plot_without_network(template, repo):
    page = show(repo, "offline", "--html-template", str(template))
    assert not REMOTE_SCRIPT.search(page), "the offline page still loads a script from the network"
    marks = MARKS.search(dump_dom(repo, "offline"))
    assert marks, "vega-embed drew no <svg class=\"marks\"> in the offline page"
    svg = marks.group(0)
    assert ">offline_loss</text>" in svg and ">step</text>" in svg, "the axis titles are missing"
    assert ">Offline check</text>" in svg, "the plot title is missing"
    assert "step: 0; offline_loss: 0.91" in svg, "the first data point is missing"


def test_default_page_draws_nothing_without_network(repo):
    page = show(repo, "default")
    assert REMOTE_SCRIPT.search(page), "dvc-render's default page no longer loads vega from a CDN"
    assert 'class="marks"' not in dump_dom(repo, "default")
