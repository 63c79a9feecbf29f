"""SPEC §2: one validated config file; every bad value gives a clear error naming the key."""

import pytest

from pipelines.core.config import ConfigError, dbt_vars, load_config, parse_config


def test_defaults_are_the_spec_defaults():
    settings = load_config()
    assert settings.revenue_window_months == 12
    assert settings.employee_size_bands == [1, 10, 50, 100, 250, 500, 1000, 5000]
    assert settings.best_in_class.quantile == 0.90 and settings.best_in_class.min_peers == 5
    assert settings.actual_class_thresholds == [1000, 3000, 15000, 25000]
    assert settings.contacts_per_manager_year == 6390  # 30 contacts x 213 days (seed)
    assert settings.contact_economics.manager_annual_cost == 89_000
    assert settings.planned_contacts_per_year == {"AA": 52, "A": 36, "B": 24, "C": 12, "D": 6}
    assert settings.grade_of_cell()[55] == "AA" and settings.grade_of_cell()[41] == "B"
    assert settings.impact_study.programme_start_date is None


def test_incremental_class_cutoffs_are_cumulative_top_shares():
    cutoffs = dbt_vars(load_config())["incremental_class_cutoffs"]
    assert cutoffs == {"5": 0.05, "4": 0.20, "3": 0.45, "2": 0.70}


def test_file_overrides_merge_over_defaults(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("best_in_class: {statistic: max}\nimpact_study: {programme_start_date: 2025-01-01}\n")
    settings = load_config(path)
    assert settings.best_in_class.statistic == "max"
    assert settings.best_in_class.min_peers == 5  # untouched default
    assert dbt_vars(settings)["programme_start_date"] == "2025-01-01"


def test_environment_variable_names_the_file(tmp_path, monkeypatch):
    path = tmp_path / "c.yaml"
    path.write_text("revenue_window_months: 6\n")
    monkeypatch.setenv("ACCOUNTS_CONFIG", str(path))
    assert load_config().revenue_window_months == 6


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ({"revenue_window_months": 0}, "revenue_window_months"),
        ({"employee_size_bands": [1, 50, 10]}, "employee_size_bands"),
        ({"best_in_class": {"statistic": "median"}}, "best_in_class.statistic"),
        ({"best_in_class": {"quantile": 1.5}}, "best_in_class.quantile"),
        ({"best_in_class": {"min_peers": 0}}, "best_in_class.min_peers"),
        ({"actual_class_thresholds": [1000, 500, 15000, 25000]}, "actual_class_thresholds"),
        (
            {"incremental_class_shares": {5: 0.5, 4: 0.5, 3: 0.5, 2: 0.5, 1: 0.5}},
            "incremental_class_shares",
        ),
        ({"grade_map": {"AA": [55], "A": [], "B": [], "C": [], "D": []}}, "grade_map"),
        ({"achievement": {"prior": 2}}, "achievement.prior"),
        (
            {"contact_economics": {"working_days_per_year": 400}},
            "contact_economics.working_days_per_year",
        ),
        ({"planned_contacts_per_year": {"AA": 52}}, "planned_contacts_per_year"),
        ({"at_risk": {"decline_ratio": -1}}, "at_risk.decline_ratio"),
        ({"defection": {"priors": {"Secure": 2}}}, "defection.priors"),
        ({"impact_study": {"programme_start_date": "soon"}}, "impact_study.programme_start_date"),
        ({"health": {"components": {"recency": {"scores": [100, 0]}}}}, "health.components.recency"),
        ({"health": {"components": {"recency": {"thresholds": [2, 1]}}}}, "health.components.recency"),
        ({"health": {"bands": {"healthy": 30, "watch": 60}}}, "health.bands"),
        ({"backtest": {"horizon_months": 0}}, "backtest.horizon_months"),
        ({"ingest": {"orphan_after_days": -1}}, "ingest.orphan_after_days"),
        ({"unknown_parameter": 1}, "unknown_parameter"),
    ],
)
def test_each_bad_value_names_its_key(override, key):
    with pytest.raises(ConfigError) as error:
        parse_config(override, source="my.yaml")
    message = str(error.value)
    assert "my.yaml" in message
    assert f"  {key}" in message, message


def test_every_bad_key_is_reported_at_once():
    with pytest.raises(ConfigError) as error:
        parse_config({"revenue_window_months": -1, "achievement": {"prior": 7}})
    assert "revenue_window_months" in str(error.value)
    assert "achievement.prior" in str(error.value)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("revenue_window_months: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_health_components_merge_one_by_one_and_must_all_be_there():
    settings = parse_config({"health": {"components": {"referrals": {"weight": 0}}}})
    assert settings.health.components["referrals"].weight == 0
    assert settings.health.components["referrals"].scores == [50, 80, 100]  # the rest kept
    assert settings.health.components["recency"].weight == 25
    with pytest.raises(ConfigError, match="health.components"):
        parse_config({"health": {"components": {"mood": {"weight": 1, "thresholds": [], "scores": [50]}}}})


def test_quality_thresholds_have_defaults_and_are_validated():
    quality = load_config().quality
    assert quality.max_row_count_change == 0.5 and quality.class_share_tolerance == 0.05
    assert parse_config({"quality": {"max_row_count_change": 0.2}}).quality.class_share_min_customers == 100
    for override, key in [
        ({"max_row_count_change": 0}, "quality.max_row_count_change"),
        ({"max_row_count_change": "lots"}, "quality.max_row_count_change"),
        ({"class_share_tolerance": 1.5}, "quality.class_share_tolerance"),
        ({"class_share_min_customers": 0}, "quality.class_share_min_customers"),
        ({"failing_keys_sample": 0}, "quality.failing_keys_sample"),
        ({"max_row_change": 0.3}, "quality.max_row_change"),
    ]:
        with pytest.raises(ConfigError) as error:
            parse_config({"quality": override}, source="q.yaml")
        assert f"  {key}" in str(error.value), str(error.value)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("quality: {max_row_count_change: -1}\n", "quality.max_row_count_change"),
        ("best_in_class: {quantile: 2}\nat_risk: {recency_days: 0}\n", "at_risk.recency_days"),
        ("revenue_window_months: [unclosed\n", "not valid YAML"),
    ],
    ids=["quality key", "two bad keys", "malformed yaml"],
)
def test_accounts_run_with_a_bad_config_exits_1_naming_the_key(tmp_path, content, fragment):
    """The CLI path: `accounts run` validates ACCOUNTS_CONFIG before anything runs."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    config = tmp_path / "bad.yaml"
    config.write_text(content)
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "ACCOUNTS_CONFIG": str(config), "PYTHONPATH": str(root),
           "ACCOUNTS_WAREHOUSE_DIR": str(tmp_path / "warehouse")}  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", "run"], env=env, cwd=root,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert fragment in done.stderr and str(config) in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "warehouse").exists()  # nothing ran
