"""load_metrics, formatting, figures and section builders (in-process, no kernel)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from matplotlib.figure import Figure
from reports_fixtures import EMPTY_TEAM, TRUSTED_TEAM, UNTRUSTED_TEAM, write_metrics_fixture

from analysis.reports import plots, sections, tables
from analysis.reports.data import load_metrics, team_slug
from analysis.reports.display import figure_png
from analysis.reports.summary import key_figures


@pytest.fixture(scope="module")
def metrics(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_metrics_fixture(tmp_path_factory.mktemp("m") / "metrics")


@pytest.fixture(scope="module")
def partial(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_metrics_fixture(
        tmp_path_factory.mktemp("p") / "metrics", missing_metrics=["bdr_funnel", "handoffs"]
    )


def test_team_slug() -> None:
    assert team_slug("Mid-Market West") == "mid-market-west"
    assert team_slug("EMEA / Nordics (2)") == "emea-nordics-2"
    assert team_slug("!!!") == "team"


def test_load_metrics_filters_every_table_to_the_team(metrics: Path) -> None:
    b = load_metrics(metrics, team=UNTRUSTED_TEAM)
    for name, df in b.tables.items():
        if "team" in df.columns and name != "fatigue":
            assert set(df["team"].unique()) == {UNTRUSTED_TEAM}, name
    # fatigue keeps the all-teams row next to the team's own
    assert set(b.fatigue["team"]) == {UNTRUSTED_TEAM, "all"}
    # unmatched shapes has no team column and stays run-wide
    assert b.unmatched_shapes.height == 4
    # decisions stay lazy and filtered
    assert isinstance(b.decisions, pl.LazyFrame)
    assert b.decisions.select(pl.col("team").unique()).collect()["team"].to_list() == [
        UNTRUSTED_TEAM
    ]
    assert b.run["period"]["label"] == "2026Q3"


def test_trust_flags_and_hygiene(metrics: Path) -> None:
    east = load_metrics(metrics, team=UNTRUSTED_TEAM)
    west = load_metrics(metrics, team=TRUSTED_TEAM)
    assert (east.hygiene_score, east.trusted) == (48.0, False)
    assert (west.hygiene_score, west.trusted) == (82.0, True)


def test_empty_team_has_no_data_and_unknown_trust(metrics: Path) -> None:
    b = load_metrics(metrics, team=EMPTY_TEAM)
    assert not b.has_data
    assert b.trusted is None  # not taken from the "all" fatigue row
    assert b.hygiene_score is None
    k = key_figures(b)
    assert k["has_data"] is False
    assert k["flagged_bdrs"] is None  # no evidence: null, not an empty "none flagged"
    assert k["median_decisions_per_day"] is None


def test_missing_tables_are_none_with_a_clear_note(partial: Path) -> None:
    b = load_metrics(partial, team=TRUSTED_TEAM)
    assert b.bdr_funnel is None and b.handoffs is None and b.handoff_summary is None
    assert b.skill_gaps is not None
    assert b.unavailable_note("bdr_funnel") == "not available: needs meetings, opportunities"
    assert b.unavailable_note("skill_gaps") is None
    bdr = sections.bdr_section(b, hygiene_threshold=70)
    assert bdr == ["> **bdr funnel**: not available: needs meetings, opportunities."]
    hand = sections.handoff_section(b, hygiene_threshold=70)
    assert "not available: needs activities, meetings" in hand[0]
    assert key_figures(b)["unavailable"] == ["bdr_funnel", "handoffs"]


def test_key_figures_recover_planted_facts(metrics: Path) -> None:
    k = key_figures(load_metrics(metrics, team=UNTRUSTED_TEAM))
    assert k["flagged_bdrs"] == ["ee-bdr-3"]
    assert k["trusted"] is False and k["hygiene_score"] == 48.0
    assert k["fatigue_threshold_estimate"] is None  # planted: not estimable
    assert 0.1 < k["share_within_24h"] < 0.4  # slow AE follow-up planted in East
    west = key_figures(load_metrics(metrics, team=TRUSTED_TEAM))
    assert west["fatigue_threshold_estimate"] == 44.0
    assert west["share_within_24h"] > k["share_within_24h"]
    json.dumps(k)  # serialisable sidecar


def test_formatting_null_is_dash_never_zero() -> None:
    assert tables.fmt_pct(None) == "—"
    assert tables.fmt_pct(float("nan")) == "—"
    assert tables.fmt_pct(0.0) == "0%"
    assert tables.fmt_interval(0.31, 0.24, 0.39) == "31% (24–39%)"
    assert tables.fmt_interval(None, 0.2, 0.3) == "—"
    assert tables.fmt_count(None) == "—"


def test_skill_gap_table_marks_too_few_and_null_win_rate(metrics: Path) -> None:
    gaps = load_metrics(metrics, team=TRUSTED_TEAM).skill_gaps
    t = tables.skill_gap_table(gaps).data.set_index("Evidence", append=True)
    shown = tables.skill_gap_table(gaps).data
    by_rep = shown.assign(rep=shown["Rep"].str.replace(" ★", "")).set_index("rep")
    assert by_rep.loc["mmw-ae-6", "Raw win rate"] == "—"  # 0 closed: null, not 0%
    assert by_rep.loc["mmw-ae-6", "vs top performer"] == "too few"
    assert by_rep.loc["mmw-ae-5", "Evidence"] == "too few"
    assert by_rep.loc["mmw-ae-1", "vs top performer"] == "100%"
    assert shown.loc[shown["Rep"].str.endswith("★"), "Rep"].tolist() == ["mmw-ae-1 ★"]
    assert "–" in by_rep.loc["mmw-ae-2", "Shrunk win rate (95% interval)"]
    assert len(t) == 6
    html = tables.skill_gap_table(gaps).to_html()
    assert "too few" in html and "<table" in html


def test_bdr_table_names_flag_reason(metrics: Path) -> None:
    t = tables.bdr_funnel_table(load_metrics(metrics, team=UNTRUSTED_TEAM).bdr_funnel).data
    flagged = t[t["Flag"] != ""]
    assert flagged["BDR"].tolist() == ["ee-bdr-3 ⚠"]  # ⚠: the rep's own data is untrusted
    assert flagged["Flag"].iloc[0].startswith("⚠ 41 meetings")
    west = tables.bdr_funnel_table(load_metrics(metrics, team=TRUSTED_TEAM).bdr_funnel).data
    assert not west["BDR"].str.contains("⚠").any()


@pytest.mark.parametrize("team", [TRUSTED_TEAM, UNTRUSTED_TEAM, EMPTY_TEAM])
def test_every_figure_builder_returns_a_labelled_figure(metrics: Path, team: str) -> None:
    b = load_metrics(metrics, team=team)
    own = b.fatigue.filter(pl.col("team") == team)
    figs = [
        plots.load_distribution(b.decision_load, threshold=45, team=team),
        plots.decision_mix(b.decision_load, team=team),
        plots.fatigue_curve(
            b.fatigue_curve, own.row(0, named=True) if own.height else None, threshold=45
        ),
        plots.bdr_funnel(b.bdr_funnel),
        plots.handoff_latency(b.handoffs),
        plots.skill_gap_forest(b.skill_gaps),
        plots.hygiene_components(b.hygiene, threshold=70),
    ]
    for fig in figs:
        assert isinstance(fig, Figure)
        assert fig._suptitle is not None and fig._suptitle.get_text()
        assert figure_png(fig)[:4] == b"\x89PNG"
        if b.has_data:
            ax = fig.axes[0]
            assert ax.get_xlabel() and ax.get_ylabel() is not None


def test_forest_plot_draws_top_performer_line_and_marks_too_few(metrics: Path) -> None:
    fig = plots.skill_gap_forest(load_metrics(metrics, team=TRUSTED_TEAM).skill_gaps)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert sum("too few" in lab for lab in labels) == 2
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("top performer") for t in legend)
    top_lines = [ln for ln in ax.get_lines() if (ln.get_label() or "").startswith("top performer")]
    assert top_lines and top_lines[0].get_xdata()[0] == pytest.approx(16 / 36)


def test_fatigue_figure_shows_estimate_or_reason(metrics: Path) -> None:
    west = load_metrics(metrics, team=TRUSTED_TEAM)
    row = west.fatigue.filter(pl.col("team") == TRUSTED_TEAM).row(0, named=True)
    ax = plots.fatigue_curve(west.fatigue_curve, row, threshold=45).axes[0]
    assert any("estimated threshold 44" in (ln.get_label() or "") for ln in ax.get_lines())
    east = load_metrics(metrics, team=UNTRUSTED_TEAM)
    row = east.fatigue.filter(pl.col("team") == UNTRUSTED_TEAM).row(0, named=True)
    ax = plots.fatigue_curve(east.fatigue_curve, row, threshold=45).axes[0]
    assert "threshold not estimated: too few decisions" in ax.get_title(loc="left")


def test_warnings_stand_beside_untrusted_figures_only(metrics: Path) -> None:
    east = load_metrics(metrics, team=UNTRUSTED_TEAM)
    west = load_metrics(metrics, team=TRUSTED_TEAM)
    for build in (sections.bdr_section, sections.handoff_section):
        items = build(east, hygiene_threshold=70)
        assert items[0] == "⚠ **hygiene score 48 < 70**: treat these figures with caution."
        assert any(isinstance(i, Figure) for i in items)
        assert build(west, hygiene_threshold=70)[0] is None
    load = sections.decision_load_section(east, fatigue_threshold=45, hygiene_threshold=70)
    assert load[0].startswith("⚠ **hygiene score 48")


def test_empty_team_sections_say_so_without_raising(metrics: Path) -> None:
    b = load_metrics(metrics, team=EMPTY_TEAM)
    head = sections.header(
        b, team=EMPTY_TEAM, quarter="2026Q3", as_of=b.run["as_of"], tz="America/New_York"
    )
    assert "2026-10-02 04:30 America/New_York" in head[0]
    assert any("No data for this team this quarter" in h for h in head)
    assert sections.skill_gap_section(b, hygiene_threshold=70, min_deals=10) == [
        f"> No opportunities owned for **{EMPTY_TEAM}** in 2026Q3."
    ]
    assert sections.fatigue_section(b, fatigue_threshold=45, hygiene_threshold=70)[0].startswith(
        "> No decisions"
    )


def test_definitions_label_every_threshold_a_heuristic(metrics: Path) -> None:
    b = load_metrics(metrics, team=TRUSTED_TEAM)
    items = sections.definitions_section(
        b, fatigue_threshold=50, min_deals=10, hygiene_threshold=70, tz="UTC"
    )
    frame = items[0].data
    thresholds = frame[frame["Value"] != "—"]
    assert set(thresholds["Term"]) >= {
        "Fatigue threshold",
        "Minimum deals",
        "Hygiene score / trusted",
    }
    assert thresholds["Kind"].str.startswith("heuristic").all()
    assert "45 decisions/day" in thresholds["Value"].tolist()  # the value the metrics used
    assert any("fatigue_threshold = 45 (asked 50)" in str(i) for i in items)


def test_fatigue_text_and_handoff_table_use_pipeline_columns(metrics: Path) -> None:
    west = load_metrics(metrics, team=TRUSTED_TEAM)
    text = sections.fatigue_section(west, fatigue_threshold=45, hygiene_threshold=70)[1]
    assert "decision 44 (38–51)" in text and "a drop of 31%" in text and "p = 0.004" in text
    hand = tables.handoff_table(west.handoff_summary).data
    assert hand["Scope"].tolist()[0] == "team"
    assert set(hand["Scope"].tolist()[1:]) == {f"mmw-bdr-{i}" for i in range(1, 5)}
    assert all("–" in v for v in hand["Within 24 h (95% interval)"])  # with the interval
    load = tables.rep_load_table(west.rep_load, threshold=45).data
    assert load["Median / day"].ne("—").all()  # pipeline's median_daily_decisions is read
