"""Report tables: built by great_tables, escaped, theme-safe; skill-gap content."""

from __future__ import annotations

import re

import polars as pl

from analysis.reports import tables
from analysis.reports.checks import amount_warning

GAPS = pl.DataFrame(
    {
        "rep_id": ["r1", "r2", "r3"],
        "rep_name": ["<script>alert(1)</script>", "Bo Li", "Cy Ng"],
        "role": ["AE", "AE", "AE"],
        "closed": [20, 15, 3],
        "won": [12, 4, 1],
        "win_rate": [0.6, 4 / 15, 1 / 3],
        "shrunk_win_rate": [0.55, 0.31, 0.4],
        "ci_low": [0.4, 0.15, 0.1],
        "ci_high": [0.7, 0.5, 0.7],
        "ratio_to_top": [1.0, 0.56, None],
        "evidence": ["sufficient", "sufficient", "too_few"],
        "rank_group": [1, 2, None],
        "is_top_performer": [True, False, False],
        "amount_weighted_win_rate": [1.0, 1.0, 1.0],
    }
)


def test_values_and_captions_are_escaped() -> None:
    html = tables.skill_gap_table(GAPS).to_html()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in tables.style(pl.DataFrame({"a": ["x"]}), "<script>").to_html()


def test_tables_are_theme_safe() -> None:
    html = tables.skill_gap_table(GAPS).to_html()
    backgrounds = re.findall(r"background(?:-color)?:\s*([^;}!]+)", html)
    light = [b for b in backgrounds if b.strip().lower() not in ("transparent", "none")]
    # any light background GT writes is overridden for every element of the table
    assert light == [] or "background-color: transparent !important" in html
    assert "color: inherit !important" in html
    assert "#f3f3f3" not in html.lower()


def test_skill_gap_table_shows_rank_groups_and_amount_weighted_rates() -> None:
    data = tables.skill_gap_table(GAPS).data
    assert data["Rank group"].tolist() == ["1", "2", "—"]
    assert data["Amount-weighted win rate (raw)"].tolist() == ["100%", "100%", "100%"]
    assert data["Raw win rate"].tolist() == ["60%", "27%", "33%"]
    assert "Shrunk win rate (95% interval)" in data.columns
    assert data["Rep"].tolist()[1] == "Bo Li"


def test_amount_warning_when_lost_deals_carry_no_amount() -> None:
    assert "cannot separate won from lost" in (amount_warning(GAPS) or "")
    mixed = GAPS.with_columns(amount_weighted_win_rate=pl.Series([0.7, 1.0, 1.0]))
    assert amount_warning(mixed) is None
    no_losses = GAPS.with_columns(won=pl.col("closed"))
    assert amount_warning(no_losses) is None
