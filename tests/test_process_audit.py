"""Process audit (CONTRACT 5.3): stage durations with censoring, conversion, stalled deals,
close-date pushes, exceptions per rep, stage hygiene, and close_date_changes ingest."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from analysis.cli import main
from analysis.errors import BadInputError
from analysis.ingest.mapped import ingest_mapped
from analysis.ingest.salesforce import ingest_salesforce
from analysis.metrics.stages import (
    StageOrder,
    km_summary,
    process_audit,
    read_stage_config,
    spells,
    stage_hygiene,
    stage_order,
)

DURATION_COLUMNS = [
    "team",
    "stage",
    "entered",
    "exited",
    "censored",
    "median_days",
    "median_ci_low",
    "median_ci_high",
    "p80_days",
]
CONVERSION_COLUMNS = [
    "team",
    "stage",
    "entered",
    "advanced",
    "lost",
    "open",
    "share_advanced",
    "ci_low",
    "ci_high",
]
STALLED_COLUMNS = [
    "opportunity_id",
    "owner_id",
    "team",
    "stage",
    "days_in_stage",
    "stage_p80_days",
    "stalled",
    "close_date_pushes",
    "past_due",
]
EXCEPTION_COLUMNS = ["rep_id", "team", "open_deals", "stalled", "pushed_twice_or_more", "past_due"]
T0 = datetime(2026, 7, 1, 9, tzinfo=UTC)


def _ts(days: float) -> datetime:
    return T0 + timedelta(days=days)


# ------------------------------------------------------------------ sample organisation
@pytest.fixture(scope="module")
def audit(sample_metrics: Path) -> dict[str, pl.DataFrame]:
    names = ("stage_durations", "stage_conversion", "stalled_deals", "pipeline_exceptions")
    return {n: pl.read_parquet(sample_metrics / f"{n}.parquet") for n in names}


def test_contract_columns_exist(audit) -> None:
    for name, columns in (
        ("stage_durations", DURATION_COLUMNS),
        ("stage_conversion", CONVERSION_COLUMNS),
        ("stalled_deals", STALLED_COLUMNS),
        ("pipeline_exceptions", EXCEPTION_COLUMNS),
    ):
        missing = set(columns) - set(audit[name].columns)
        assert not missing, (name, missing)


def test_km_medians_recover_the_planted_durations(audit, planted) -> None:
    truth = planted["process_audit"]["durations"]
    table = audit["stage_durations"]
    assert set(table["team"]) == set(truth)  # every team plus "all"
    checked = 0
    for row in table.iter_rows(named=True):
        true = truth[row["team"]][row["stage"]]
        assert row["entered"] == true["entered"], row
        assert row["censored"] == true["censored"], row
        assert abs(row["median_days"] / true["true_median_days"] - 1) < 0.15, row
        assert row["median_ci_low"] <= row["median_days"] <= row["median_ci_high"], row
        assert row["p80_days"] > row["median_days"], row
        checked += 1
    assert checked == 5 * 4  # four teams and all, four open stages


def test_naive_mean_over_exited_deals_misses_the_slow_stage(audit, planted) -> None:
    block = planted["process_audit"]
    slow = block["slow_stage"]
    row = audit["stage_durations"].filter(
        pl.col("team") == slow["team"], pl.col("stage") == slow["stage"]
    )
    true = block["durations"][slow["team"]][slow["stage"]]["true_median_days"]
    km_error = abs(row["median_days"].item() / true - 1)
    naive_error = abs(row["mean_exited_days"].item() / true - 1)
    assert row["censored"].item() >= 10
    assert naive_error > 0.15
    assert naive_error > 2 * km_error
    # the slow stage stands out: slower than the same stage in every other team
    others = audit["stage_durations"].filter(
        pl.col("stage") == slow["stage"], ~pl.col("team").is_in([slow["team"], "all"])
    )
    assert row["median_days"].item() > 1.6 * others["median_days"].max()


def test_stalled_set_is_exact(audit, planted) -> None:
    block = planted["process_audit"]
    stalled = audit["stalled_deals"]
    assert stalled.height == len(block["stalled"]) + len(block["fresh"])
    assert stalled["stalled"].null_count() == 0
    flagged = set(stalled.filter(pl.col("stalled"))["opportunity_id"])
    assert len(block["stalled"]) >= 4
    assert flagged == set(block["stalled"])
    assert not flagged & set(block["fresh"])
    over = stalled.filter(pl.col("days_in_stage") > pl.col("stage_p80_days"))
    assert set(over["opportunity_id"]) == flagged


def test_close_date_pushes_and_past_due_are_exact(audit, planted) -> None:
    block = planted["process_audit"]
    stalled = audit["stalled_deals"]
    pushed = {
        r["opportunity_id"]: r["close_date_pushes"]
        for r in stalled.filter(pl.col("close_date_pushes") > 0).iter_rows(named=True)
    }
    assert pushed == block["close_date_pushes"]
    assert sorted(set(pushed.values())) == [1, 2, 3]
    pulled = stalled.filter(pl.col("opportunity_id").is_in(block["pulled_in"]))
    assert pulled.height == len(block["pulled_in"]) >= 3
    assert (pulled["close_date_pulls"] >= 1).all()
    assert set(stalled.filter(pl.col("past_due"))["opportunity_id"]) == set(block["past_due"])
    assert stalled["close_date_pushes"].null_count() == 0


def test_pipeline_exceptions_match(audit, planted) -> None:
    expected = planted["process_audit"]["pipeline_exceptions"]
    got = {
        r["rep_id"]: {k: r[k] for k in EXCEPTION_COLUMNS[2:]}
        for r in audit["pipeline_exceptions"].iter_rows(named=True)
    }
    assert got == expected
    assert audit["pipeline_exceptions"]["name"].null_count() == 0  # names for the manager


def test_conversion_adds_up_with_wilson_intervals(audit) -> None:
    conv = audit["stage_conversion"]
    total = conv["advanced"] + conv["lost"] + conv["moved_back"] + conv["open"]
    assert (total == conv["entered"]).all()
    decided = conv.filter(pl.col("entered") > pl.col("open"))
    assert ((decided["ci_low"] <= decided["share_advanced"]) & (decided["share_advanced"] <= decided["ci_high"])).all()  # fmt: skip
    assert "all" not in set(conv["team"])
    first = conv.filter(pl.col("team") == "EMEA").sort("stage_rank")
    assert first["stage"].to_list() == ["Prospecting", "Qualification", "Proposal", "Negotiation"]


def test_close_date_changes_are_validated_and_accounted(sample_metrics: Path, planted) -> None:
    quality = json.loads((sample_metrics / "quality.json").read_text())
    entry = quality["tables"]["close_date_changes"]
    assert entry["input_rows"] == entry["clean_rows"] + entry["quarantined_rows"]
    assert entry["reasons"] == planted["dirty_rows"]["close_date_changes"]
    assert entry["clean_rows"] == planted["clean_rows"]["close_date_changes"]
    quarantine = pl.read_parquet(sample_metrics / "quarantine" / "close_date_changes.parquet")
    assert quarantine.height == entry["quarantined_rows"] == 5


# ------------------------------------------------------------------ small crafted data
def _small(folder: Path, *, with_close_dates: bool = True) -> Path:
    """Two teams; team A's 12 deals leave Lead after 1..12 days; one open deal in each stage."""
    folder.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(
        {
            "rep_id": ["a1", "b1"],
            "name": ["Ann", None],
            "role": ["AE", "AE"],
            "team": ["A", "B"],
        }
    ).write_csv(folder / "reps.csv")
    opps, hist, changes = [], [], []
    for i in range(12):
        oid = f"o{i}"
        opps.append((oid, "a1", _ts(0), "Won", True, True, _ts(i + 3).date()))
        hist += [(oid, "Lead", _ts(0)), (oid, "Demo", _ts(i + 1)), (oid, "Won", _ts(i + 3))]
    # open deals: x0 in Lead for 30 days (stalled), x1 in Demo for 1 day (fresh)
    opps.append(("x0", "a1", _ts(10), "Lead", False, False, None))
    hist.append(("x0", "Lead", _ts(10)))
    opps.append(("x1", "a1", _ts(30), "Demo", False, False, None))
    hist += [("x1", "Lead", _ts(30)), ("x1", "Demo", _ts(39))]
    # team B: a deal skipping Demo, one going backwards, one closed with no closed stage
    opps.append(("y0", "b1", _ts(0), "Won", True, True, _ts(5).date()))
    hist += [("y0", "Lead", _ts(0)), ("y0", "Won", _ts(5))]
    opps.append(("y1", "b1", _ts(0), "Lead", False, False, None))
    hist += [("y1", "Lead", _ts(0)), ("y1", "Demo", _ts(2)), ("y1", "Lead", _ts(4))]
    opps.append(("y2", "b1", _ts(0), "Lost", True, False, _ts(6).date()))
    hist += [("y2", "Lead", _ts(0))]
    changes += [
        ("x0", _ts(20).date(), _ts(10)),
        ("x0", _ts(35).date(), _ts(15)),  # push
        ("x0", _ts(30).date(), _ts(20)),  # pull-in
        ("x0", _ts(38).date(), _ts(25)),  # push -> twice, and past due at day 40
        ("x1", _ts(60).date(), _ts(30)),
    ]
    cols = ["opportunity_id", "owner_id", "created_at", "stage", "is_closed", "is_won", "closed_at"]
    pl.DataFrame(opps, schema=cols, orient="row").write_csv(folder / "opportunities.csv")
    pl.DataFrame(hist, schema=["opportunity_id", "stage", "entered_at"], orient="row").write_csv(
        folder / "stage_history.csv"
    )
    if with_close_dates:
        pl.DataFrame(
            changes, schema=["opportunity_id", "close_date", "changed_at"], orient="row"
        ).write_csv(folder / "close_date_changes.csv")
    return folder


def _clean(folder: Path) -> dict[str, pl.LazyFrame]:
    from analysis.canonical.validate import validate_dataset

    result = validate_dataset(folder)
    return {t: plan.resolve()[0] for t, plan in result.tables.items()}


def test_small_dataset_flags_and_pushes(tmp_path) -> None:
    tables = process_audit(_clean(_small(tmp_path / "d")), as_of=_ts(40))
    durations = tables["stage_durations"]
    lead_a = durations.filter(pl.col("team") == "A", pl.col("stage") == "Lead").row(0, named=True)
    # 12 exits after 1..12 days, x1 left Lead after 9 days, x0 censored at 30 days
    assert (lead_a["entered"], lead_a["exited"], lead_a["censored"]) == (14, 13, 1)
    assert lead_a["median_days"] == pytest.approx(8.0)  # statsmodels: first time S < 0.5
    stalled = tables["stalled_deals"].sort("opportunity_id")
    x0 = stalled.filter(pl.col("opportunity_id") == "x0").row(0, named=True)
    assert x0["stalled"] is True and x0["days_in_stage"] == pytest.approx(30.0)
    assert x0["close_date_pushes"] == 2 and x0["past_due"] is True
    x1 = stalled.filter(pl.col("opportunity_id") == "x1").row(0, named=True)
    assert x1["stage"] == "Demo" and x1["days_in_stage"] == pytest.approx(1.0)
    assert x1["stage_p80_days"] is not None and x1["stalled"] is False
    assert x1["close_date_pushes"] == 0 and x1["past_due"] is False
    # team B has too few exits: no threshold, no verdict (null, never a guess)
    y1 = stalled.filter(pl.col("opportunity_id") == "y1").row(0, named=True)
    assert y1["stage_p80_days"] is None and y1["stalled"] is None
    assert y1["close_date_pushes"] is None and y1["past_due"] is None  # no close dates known
    ex = tables["pipeline_exceptions"].collect().sort("rep_id")
    assert ex.select(EXCEPTION_COLUMNS).rows() == [("a1", "A", 2, 1, 1, 1), ("b1", "B", 1, None, None, None)]  # fmt: skip
    assert ex["name"].to_list() == ["Ann", None]
    hygiene = tables["stage_hygiene"].collect().filter(pl.col("level") == "team", pl.col("team") == "B")  # fmt: skip
    assert hygiene.select("deals", "skipped_stage", "went_backwards", "closed_deals", "closed_not_in_history").row(0) == (3, 0, 1, 2, 1)  # fmt: skip
    conv = tables["stage_conversion"].collect().filter(pl.col("team") == "B", pl.col("stage") == "Demo")  # fmt: skip
    assert conv.select("entered", "moved_back").row(0) == (1, 1)


def test_without_close_date_changes_pushes_are_null(tmp_path) -> None:
    tables = process_audit(_clean(_small(tmp_path / "d", with_close_dates=False)), as_of=_ts(40))
    stalled = tables["stalled_deals"]
    assert stalled["close_date_pushes"].null_count() == stalled.height
    ex = tables["pipeline_exceptions"].collect()
    assert ex["past_due"].null_count() == ex.height
    assert ex.filter(pl.col("rep_id") == "a1")["stalled"].item() == 1


def test_skipping_a_stage_is_flagged(tmp_path) -> None:
    order = StageOrder(("Lead", "Demo", "Proposal"), won=("Won",))
    sh = pl.LazyFrame(
        {
            "opportunity_id": ["a", "a", "b", "b"],
            "stage": ["Lead", "Proposal", "Lead", "Demo"],
            "entered_at": [_ts(0), _ts(1), _ts(0), _ts(1)],
        }
    )
    opps = pl.LazyFrame({"opportunity_id": ["a", "b"], "owner_id": ["r", "r"], "is_closed": [False, False]})  # fmt: skip
    reps = pl.LazyFrame({"rep_id": ["r"], "team": ["T"]})
    out = stage_hygiene(sh, opps, reps, as_of=_ts(5), order=order).collect()
    assert out.filter(pl.col("level") == "rep").select("skipped_stage", "went_backwards").row(0) == (1, 0)  # fmt: skip


def test_stage_order_from_data_or_taxonomy(tmp_path) -> None:
    clean = _clean(_small(tmp_path / "d"))
    learnt = stage_order(clean["stage_history"], clean["opportunities"], as_of=_ts(40))
    assert learnt.open == ("Lead", "Demo") and learnt.won == ("Won",) and learnt.lost == ("Lost",)
    tax = tmp_path / "tax.toml"
    tax.write_text('[stages]\norder = ["Demo", "Lead"]\nwon = ["Won"]\nlost = ["Lost"]\n')
    config = read_stage_config(tax)
    ordered = stage_order(clean["stage_history"], clean["opportunities"], as_of=_ts(40), config=config)  # fmt: skip
    assert ordered.open == ("Demo", "Lead") and ordered.source == "taxonomy"
    # with Demo first, x1's move Lead -> Demo is no longer backwards, y1's Demo -> Lead is forward
    sp = spells(clean["stage_history"], clean["opportunities"], clean["reps"], as_of=_ts(40), order=ordered)  # fmt: skip
    y1 = sp.filter(pl.col("opportunity_id") == "y1").collect().sort("entered_at")
    assert y1["outcome"].to_list() == ["moved_back", "advanced", "open"]
    bad = tmp_path / "bad.toml"
    bad.write_text('[stages]\norder = "Lead"\n')
    with pytest.raises(BadInputError, match="stages"):
        read_stage_config(bad)


def test_km_quantile_never_reached_is_null() -> None:
    import numpy as np

    out = km_summary(np.array([1.0, 9, 9, 9, 9]), np.array([1, 0, 0, 0, 0]))
    assert out["median"] is None and out["q"] is None and out["ci_low"] is None


def test_stall_quantile_flag(tmp_path, capsys) -> None:
    data = _small(tmp_path / "d")
    out = tmp_path / "m"
    code = main(
        ["metrics", "--data", str(data), "--out", str(out), "--start", "2026-07-01",
         "--end", "2026-10-01", "--stall-quantile", "0.5", "--quiet"]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    run = json.loads((out / "run.json").read_text())
    assert run["thresholds"]["stall_quantile"] == 0.5
    durations = pl.read_parquet(out / "stage_durations.parquet")
    lead = durations.filter(pl.col("team") == "A", pl.col("stage") == "Lead").row(0, named=True)
    assert lead["quantile_days"] == pytest.approx(lead["median_days"])
    assert lead["p80_days"] > lead["median_days"]
    bad = main(["metrics", "--data", str(data), "--out", str(tmp_path / "m2"), "--start", "2026-07-01", "--end", "2026-10-01", "--stall-quantile", "1.5"])  # fmt: skip
    assert bad == 2
    assert "stall-quantile" in capsys.readouterr().err


# ------------------------------------------------------------------ ingest
def _history_csv(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    header = '"Id","OpportunityId","CreatedDate","StageName","Amount","CloseDate","IsDeleted"'
    rows = [
        # o1: created, amount change (same close date), push, stage change with a pull-in
        '"0081","0061","2026-07-01 10:00:00","Prospecting","100","2026-08-01 00:00:00","0"',
        '"0082","0061","2026-07-02 10:00:00","Prospecting","200","2026-08-01 00:00:00","0"',
        '"0083","0061","2026-07-03 10:00:00","Prospecting","200","2026-08-20 00:00:00","0"',
        '"0084","0061","2026-07-04 10:00:00","Proposal","200","2026-08-10 00:00:00","0"',
        # o2: a row without close date, one unreadable, one deleted
        '"0085","0062","2026-07-01 10:00:00","Prospecting","100","2026-09-01 00:00:00","0"',
        '"0086","0062","2026-07-02 10:00:00","Qualification","100","","0"',
        '"0087","0062","2026-07-03 10:00:00","Qualification","100","31/12/2026","0"',
        '"0088","0062","2026-07-04 10:00:00","Proposal","100","2026-09-15 00:00:00","1"',
    ]
    (folder / "OpportunityHistory.csv").write_text("\n".join([header, *rows]) + "\n")
    (folder / "Opportunity.csv").write_text(
        '"Id","OwnerId","CreatedDate","StageName","IsClosed","IsWon","CloseDate"\n'
        '"0061","0051","2026-07-01 10:00:00","Proposal","0","0","2026-08-10 00:00:00"\n'
        '"0062","0051","2026-07-01 10:00:00","Qualification","0","0","2026-09-01 00:00:00"\n'
    )
    return folder


def test_salesforce_history_reaches_close_date_changes_with_every_row_accounted(tmp_path) -> None:
    report = ingest_salesforce(_history_csv(tmp_path / "in"), tmp_path / "out")
    entry = report["objects"]["OpportunityHistory"]
    assert entry["source_rows"] == 8
    assert entry["tables"]["close_date_changes"] == {
        "mapped": 4,
        "rejected": {
            "deleted": 1,
            "missing_close_date": 1,
            "non_close_date_change": 1,
            "unparseable_close_date": 1,
        },
    }
    changes = pl.read_parquet(tmp_path / "out" / "close_date_changes.parquet").sort(
        "opportunity_id", "changed_at"
    )
    assert changes["close_date"].cast(pl.String).to_list() == [
        "2026-08-01",
        "2026-08-20",
        "2026-08-10",
        "2026-09-01",
    ]
    assert report["validation"]["close_date_changes"]["quarantined_rows"] == 0
    clean = _clean(tmp_path / "out")
    tables = process_audit(clean, as_of=datetime(2026, 8, 15, tzinfo=UTC))
    stalled = tables["stalled_deals"].sort("opportunity_id")
    assert stalled["close_date_pushes"].to_list() == [1, 0]
    assert stalled["past_due"].to_list() == [True, False]


def test_mapped_ingest_can_fill_close_date_changes(tmp_path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "reps.csv").write_text("id,team\nr1,T\n")
    (folder / "slips.csv").write_text("deal,new_close,when\nd1,2026-08-01,2026-07-01T10:00:00Z\nd1,2026-08-20,2026-07-05T10:00:00Z\n")  # fmt: skip
    mapping = folder / "mapping.toml"
    mapping.write_text(
        '[tables.reps]\nfile = "reps.csv"\n[tables.reps.columns]\nrep_id = "id"\nteam = "team"\n'
        'role = { value = "AE" }\n'
        '[tables.close_date_changes]\nfile = "slips.csv"\n[tables.close_date_changes.columns]\n'
        'opportunity_id = "deal"\nclose_date = "new_close"\nchanged_at = "when"\n'
    )
    report = ingest_mapped(mapping, tmp_path / "out")
    assert report["tables"]["close_date_changes"] == 2
    assert (
        report["validation"]["close_date_changes"]["clean_rows"] == 2
    )  # text parsed by validation


# ------------------------------------------------------------------ report and notebook
def _run_notebook(name: str, out: Path, **parameters: object) -> dict:
    import jupytext
    import papermill as pm

    root = Path(__file__).resolve().parents[1]
    pm.execute_notebook(
        jupytext.read(root / "notebooks" / f"{name}.py"),
        str(out),
        parameters=parameters,
        kernel_name="python3",
        progress_bar=False,
        cwd=str(root),
        shutdown_kernel="immediate",
    )
    return json.loads(out.read_text())


def _outputs(nb: dict) -> tuple[str, int, list]:
    text, pngs, errors = [], 0, []
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            text.append("".join(cell["source"]))
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            text.append("".join(data.get("text/markdown", "")) + "".join(data.get("text/html", "")))
            pngs += "image/png" in data
            if out["output_type"] == "error":
                errors.append(out)
    return "\n".join(text), pngs, errors


def test_team_report_shows_where_deals_stall(sample_metrics: Path, planted, tmp_path) -> None:
    block = planted["process_audit"]
    team = block["slow_stage"]["team"]
    nb = _run_notebook(
        "team_quarterly", tmp_path / "r.ipynb", metrics_dir=str(sample_metrics), team=team
    )
    text, pngs, errors = _outputs(nb)
    assert errors == []
    section = text[text.index("## 6. Where deals stall") : text.index("## 7. Definitions")]
    assert f"sit longest in **{block['slow_stage']['stage']}**" in section
    assert "Kaplan" in section and "share advanced" in section
    assert "Stage history hygiene: of " in section and "0 skipped a stage" in section
    assert "Exceptions: open deals a manager should look at, by AE" in section
    # every flagged deal of the team is listed, under its AE's name
    stalled = pl.read_parquet(sample_metrics / "stalled_deals.parquet").filter(
        pl.col("team") == team
    )
    flagged = stalled.filter(
        pl.col("stalled") | (pl.col("close_date_pushes") >= 2) | pl.col("past_due")
    )
    assert flagged.height >= 3
    for deal in flagged["opportunity_id"]:
        assert f">{deal}<" in section
    reps = pl.read_parquet(sample_metrics / "clean" / "reps.parquet")
    owners = reps.filter(pl.col("rep_id").is_in(flagged["owner_id"].unique().implode()))
    for name in owners["name"]:
        assert f">{name}<" in section  # the AE by name
    assert pngs >= 1
    figures = pl.read_parquet(sample_metrics / "team_summary.parquet").filter(
        pl.col("team") == team
    )
    expected = [v for k, v in block["pipeline_exceptions"].items() if k in set(stalled["owner_id"])]
    assert figures["stalled_deals"].item() == sum(e["stalled"] for e in expected)
    assert figures["slowest_stage"].item() == block["slow_stage"]["stage"]
    assert (
        f"Of **{figures['open_deals'].item()}** open deals, **{figures['stalled_deals'].item()}**"
        in section
    )


def test_pipeline_audit_notebook_runs(sample_metrics: Path, tmp_path) -> None:
    nb = _run_notebook(
        "pipeline_audit", tmp_path / "a.ipynb", metrics_dir=str(sample_metrics), team="EMEA"
    )
    text, pngs, errors = _outputs(nb)
    assert errors == []
    assert "sit longest in" in text and pngs == 1
    assert "closed_not_in_history" in text and "pushed_twice_or_more" in text
