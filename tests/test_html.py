"""report.html: a self-contained page with every quantity's readable name, and the page in a real browser (the
claims' probabilities and verdicts: test_claims).

The page tests read the report that conftest's ``run_dir`` (one small real fit) wrote; the browser test
renders it with headless Chromium (Debian's ``chromium``; skipped only where it is not installed).
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pandas as pd
import pytest

from bayes_sauce.reporting.claims import CLAIMS

CHROMIUM = shutil.which("chromium")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")


class _Page(HTMLParser):
    """What the tests need from the page: sections in order, images, external references, claim articles."""

    def __init__(self):
        super().__init__()
        self.sections, self.images, self.external, self.articles, self.figures_in = [], [], [], [], {}
        self._article = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("src", "href"):
            if re.match(r"(https?:)?//", a.get(key) or ""):
                self.external.append(a[key])
        if tag == "section":
            self.sections.append(a.get("id"))
        if tag == "article":
            self._article = a.get("id")
            self.articles.append(self._article)
        if tag == "img":
            self.images.append(a["src"])
        if tag == "figure" and self._article:
            self.figures_in.setdefault(self._article, []).append(a["id"].removeprefix("fig-"))

    def handle_endtag(self, tag):
        if tag == "article":
            self._article = None


@pytest.fixture(scope="module")
def page_file(run_dir):
    return run_dir[0] / "hierarchical" / "report.html"


def test_page_is_self_contained_and_ordered(page_file):
    text = page_file.read_text(encoding="utf-8")
    page = _Page()
    page.feed(text)
    assert page.sections == ["answer", "checks", "claims", "differences", "details"]
    assert page.external == [] and "<link" not in text  # nothing from the network
    pngs = {p.stem for p in page_file.parent.glob("*.png")}
    assert pngs and len(page.images) == len(pngs)  # every figure of the report is in the page ...
    assert all(src.startswith("data:image/png;base64,") for src in page.images)  # ... inside it
    for claim in (c for c in CLAIMS if f"claim-{c.key}" in page.articles):
        assert set(page.figures_in.get(f"claim-{claim.key}", [])) == set(claim.figures) & pngs, claim.key
    assert "claim-frontier" in page.articles and "claim-variance" in page.articles
    headline = pd.read_csv(page_file.parent / "headline.csv")
    for q, name in zip(headline["quantity"], headline["name"]):  # every id with its readable name
        assert f'<span class="id">{q}</span>' in text and html.escape(name) in text, q


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_page_in_headless_chromium(page_file, tmp_path):
    """Every figure loads, the answer is there, the page's script ran, and the console stays silent."""
    run = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr",
                          "--v=0", "--dump-dom", page_file.resolve().as_uri()],
                         capture_output=True, text=True, timeout=120)
    dom = run.stdout
    assert run.returncode == 0, run.stderr[-2000:]
    loaded = re.search(r'data-figures-loaded="(\d+)/(\d+)"', dom)
    assert loaded, "the page's load handler did not run"
    assert int(loaded[1]) == int(loaded[2]) > 0, f"figures loaded: {loaded[0]}"
    answer = re.search(r'<section id="answer">(.*?)</section>', dom, re.S)
    assert answer and "Of the paper's" in answer[1] and answer[1].count("<li") >= 2
    assert 'class="filter"' in dom  # the script added a filter box to the long tables
    console = [line for line in run.stderr.splitlines() if "CONSOLE" in line]
    assert console == [], console
