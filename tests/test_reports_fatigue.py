"""The fatigue section: the plotted curve is the adjusted one, the threshold line appears only
for shape ``threshold``, and the sentence states the shape in plain words."""

from __future__ import annotations

import polars as pl

from analysis.reports import plots
from analysis.reports.sections import fatigue_sentence

CURVE = pl.DataFrame(
    {
        "seq_from": [1, 6, 11, 16],
        "n": [400, 380, 300, 200],
        "positives": [200, 180, 130, 80],
        "quality_rate": [0.5, 0.47, 0.43, 0.4],
        "adjusted_quality": [0.46, 0.46, 0.45, 0.46],
    }
)
GRADUAL = {
    "shape": "gradual",
    "threshold_estimate": None,
    "slope_per_10": -0.021,
    "slope_ci_low": -0.03,
    "slope_ci_high": -0.012,
    "reason": None,
}


def _labels(fig) -> list[str]:
    return [ln.get_label() or "" for ln in fig.axes[0].get_lines()]


def test_gradual_plot_has_no_threshold_line_and_draws_the_adjusted_curve() -> None:
    fig = plots.fatigue_curve(CURVE, GRADUAL, threshold=45)
    labels = _labels(fig)
    assert not any(label.startswith("estimated threshold") for label in labels)
    assert any(label.startswith("claimed heuristic 45") for label in labels)
    main = [ln for ln in fig.axes[0].get_lines() if "within rep-day" in (ln.get_label() or "")]
    raw = [ln for ln in fig.axes[0].get_lines() if "raw share" in (ln.get_label() or "")]
    assert main and raw and raw[0].get_alpha() < 1  # raw curve faint beside the adjusted one
    assert list(main[0].get_ydata()) == CURVE["adjusted_quality"].to_list()
    assert "quality falls gradually, about 2.1 points per 10 decisions; no threshold" in (
        fig.axes[0].get_title(loc="left")
    )


def test_a_stray_estimate_without_shape_threshold_draws_no_line() -> None:
    row = {**GRADUAL, "shape": "none", "threshold_estimate": 30, "threshold_ci_low": 20}
    labels = _labels(plots.fatigue_curve(CURVE, row, threshold=45))
    assert not any(label.startswith("estimated threshold") for label in labels)


def test_threshold_plot_draws_the_line() -> None:
    row = {
        "shape": "threshold",
        "threshold_estimate": 38,
        "threshold_ci_low": 36,
        "threshold_ci_high": 41,
        "p_value": 1e-6,
        "relative_drop": 0.3,
    }
    assert any(
        label.startswith("estimated threshold 38")
        for label in _labels(plots.fatigue_curve(CURVE, row, threshold=45))
    )


def test_sentences_state_the_shape_and_the_tested_heuristic() -> None:
    gradual = fatigue_sentence(GRADUAL, heuristic=45)
    assert "falls gradually" in gradual and "2.1 points per 10 decisions" in gradual
    assert "no threshold" in gradual and "heuristic of 45 decisions a day" in gradual
    none = fatigue_sentence({"shape": "none", "slope_per_10": 0.001}, heuristic=45)
    assert none.startswith("**No fatigue found**") and "not supported" in none
    step = fatigue_sentence(
        {
            "shape": "threshold",
            "threshold_estimate": 44,
            "threshold_ci_low": 40,
            "threshold_ci_high": 47,
            "quality_before": 0.5,
            "quality_after": 0.35,
            "relative_drop": 0.3,
            "p_value": 0.001,
        },
        heuristic=45,
    )
    assert "decision 44 (40–47)" in step and "a drop of 30%" in step
    assert "heuristic of 45 decisions a day (`--fatigue-threshold`) is within" in step
    reason = fatigue_sentence({"shape": "none", "reason": "too few"}, heuristic=45)
    assert reason.startswith("**Fatigue threshold not estimated**: too few.")
