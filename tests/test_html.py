"""report.html: readable names, the claims' verdicts, a self-contained page, and the page in a real browser.

The page tests read the report that conftest's ``run_dir`` (one small real fit) wrote; the browser test
renders it with headless Chromium (Debian's ``chromium``; skipped only where it is not installed).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from bayes_sauce.reporting.claims import (CLAIMS, FAILS, PARTLY, REPRODUCED, SURVIVES, UNTESTED, as_printed, overall,
                                          verdicts)
from bayes_sauce.reporting.names import readable

CHROMIUM = shutil.which("chromium")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")


def test_readable_names_for_the_ids_of_the_contract():
    assert readable("frontier_compute_share__Llama-2-70B__DeepSeek-V3") == \
        "Compute's share of the gain, Llama-2-70B to DeepSeek-V3"
    assert readable("developer_multiplier__Nvidia") == "Nvidia's compute multiplier vs Other-Small"
    assert readable("shapley_model") == "Model-specific efficiency's share of the variance in scores"
    assert "90th/10th percentile" in readable("within_firm_spread_p90_p10__Meta")
    assert "Meta" in readable("within_firm_spread_p90_p10__Meta")
    assert readable("frontier_family_share__A__B") == "Base-model family's share of the gain, A to B"
    assert readable("some_new_quantity__X") == "Some new quantity, X"  # unknown ids still read


def _row(quantity: str, median: float, lo: float, hi: float, paper: float, unit: str = "share") -> dict:
    return {"quantity": quantity, "median": median, "lo": lo, "hi": hi, "paper": paper, "unit": unit,
            "definition": "d"}


def test_verdicts_follow_the_paper_value_against_our_interval():
    table = pd.DataFrame([
        _row("frontier_compute_share__Llama-2-70B__DeepSeek-V3", 0.84, 0.77, 0.92, 0.796),   # inside
        _row("frontier_model_share__Llama-2-70B__DeepSeek-V3", -0.2, -0.5, 0.1, -0.03),      # inside
        _row("shapley_compute", 0.41, 0.39, 0.44, 0.32),                                      # paper below
        _row("shapley_progress", 0.033, 0.026, 0.039, 0.027),                                 # inside
        _row("within_firm_spread_p90_p10", 10.0, 5.0, 20.0, 40.55, "x"),                      # paper above
        _row("threshold_compute_fall_all", 8016.1, np.nan, np.nan, 8016.0, "x"),              # descriptive
        _row("progress_halving_time_months", 6.0, 4.0, 10.0, np.nan, "months"),               # unpublished
    ])
    found = {v.claim.key: v for v in verdicts(table, 0.9)}
    assert set(found) == {"frontier", "variance", "within_firm", "threshold", "progress"}  # no developer rows
    assert found["frontier"].status == SURVIVES and found["frontier"].lead.startswith("frontier_compute_share")
    assert found["variance"].status == PARTLY
    assert "below our interval: ours is higher" in found["variance"].sentence
    assert "1 of its 2 numbers" in found["variance"].sentence
    assert found["within_firm"].status == FAILS and "above our interval: ours is lower" in found["within_firm"].sentence
    assert found["threshold"].status == REPRODUCED and found["progress"].status == UNTESTED
    assert "the paper 79.6%, ours 84.0% (90% interval 77.0% to 92.0%)" in found["frontier"].sentence
    other_rows = pd.DataFrame([_row("threshold_compute_fall_all", 367.0, np.nan, np.nan, 8016.0, "x")])
    (differs,) = verdicts(other_rows, 0.9)
    assert differs.status == FAILS and "gives a different number" in differs.sentence
    text = overall(list(found.values()), table, 0.9)
    assert "Of the paper's 5 headline claims checked here, 1 survives, 1 partly survives, 1 does not survive" in text
    assert "Across all 5 numbers with a published value and an interval, 3 lie inside." in text


def test_a_number_is_the_papers_when_it_rounds_to_it():
    assert as_printed(2.2746, 2.3) and not as_printed(2.36, 2.3)
    assert as_printed(8016.4, 8016.0) and not as_printed(4462.4, 4459.0)
    assert as_printed(0.3204, 0.32, decimals=3) and not as_printed(0.3206, 0.32, decimals=3)


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
    for q in headline["quantity"]:  # every id with its readable name
        assert f'<span class="id">{q}</span>' in text and readable(q).replace("'", "&#x27;") in text, q


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
