"""The pipeline's parameters: one YAML file, validated at start-up.

Every default value has one home, `default_config.yaml` beside this module; the models below only
say what a valid value is. `load_config()` reads `ACCOUNTS_CONFIG` (default: that file), merges it
over the defaults and validates every value; a bad file raises `ConfigError` listing each bad key.
`dbt_vars()` turns the validated config (and the method's vocabularies) into the `--vars` the dbt
project reads: the dbt project declares no parameter values of its own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipelines.core import paths
from pipelines.core.vocabulary import GRADES, HEALTH_COMPONENTS, SEGMENTS, vocabulary_vars

DEFAULT_CONFIG_PATH = paths.DEFAULT_CONFIG_PATH


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names every bad key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BestInClass(_Strict):
    statistic: Literal["quantile", "max"]
    quantile: float = Field(gt=0, le=1)
    min_peers: int = Field(ge=1)


class Achievement(_Strict):
    prior: float = Field(ge=0, le=1)
    shrinkage_weight: float = Field(ge=0)


class ContactEconomics(_Strict):
    contacts_per_working_day: float = Field(gt=0)
    working_days_per_year: float = Field(gt=0, le=366)
    manager_annual_cost: float = Field(ge=0)


class AtRisk(_Strict):
    recency_days: int = Field(gt=0)
    decline_ratio: float = Field(gt=0, le=1)
    dissatisfier_contacts: int = Field(ge=1)
    dissatisfier_window_days: int = Field(gt=0)
    gap_multiple: float = Field(gt=0)
    gap_min_days: int = Field(ge=0)


class Defection(_Strict):
    priors: dict[str, float]
    shrinkage_weight: float = Field(ge=0)

    @field_validator("priors")
    @classmethod
    def _every_segment(cls, priors: dict[str, float]) -> dict[str, float]:
        if set(priors) != set(SEGMENTS):
            raise ValueError(f"needs exactly the segments {list(SEGMENTS)}, got {sorted(priors)}")
        for segment, prior in priors.items():
            if not 0 <= prior <= 1:
                raise ValueError(f"prior of {segment} must lie in [0, 1], got {prior}")
        return priors


class ContactDrivers(_Strict):
    min_support: int = Field(ge=1)
    dissatisfier_lift: float = Field(gt=0)
    satisfier_lift: float = Field(gt=0)


class ImpactStudy(_Strict):
    programme_start_date: dt.date | None


class HealthComponent(_Strict):
    """A health component's score from its measure: the i-th score, i = the number of thresholds
    the measure exceeds (scores has one more entry than thresholds)."""

    weight: float = Field(ge=0)
    thresholds: list[float]
    scores: list[float]

    @model_validator(mode="after")
    def _bands(self) -> HealthComponent:
        if len(self.scores) != len(self.thresholds) + 1:
            raise ValueError("needs one score more than thresholds (a score for each band)")
        if any(b <= a for a, b in zip(self.thresholds, self.thresholds[1:], strict=False)):
            raise ValueError("thresholds must strictly increase")
        if any(not 0 <= score <= 100 for score in self.scores):
            raise ValueError("scores must lie in [0, 100]")
        return self


class HealthBands(_Strict):
    healthy: float = Field(ge=0, le=100)  # a score at least this is healthy
    watch: float = Field(ge=0, le=100)  # at least this (and below healthy) is watch; below: at risk

    @model_validator(mode="after")
    def _ordered(self) -> HealthBands:
        if self.watch > self.healthy:
            raise ValueError("watch must not exceed healthy")
        return self


class Health(_Strict):
    components: dict[str, HealthComponent]
    bands: HealthBands

    @field_validator("components")
    @classmethod
    def _every_component(cls, components: dict[str, HealthComponent]) -> dict[str, HealthComponent]:
        if set(components) != set(HEALTH_COMPONENTS):
            raise ValueError(
                f"needs exactly the components {list(HEALTH_COMPONENTS)}, got {sorted(components)}"
            )
        if not sum(c.weight for c in components.values()) > 0:
            raise ValueError("at least one component needs a positive weight")
        return components


class Backtest(_Strict):
    horizon_months: int = Field(ge=1, le=60)  # outcome compared this many months after each date


class Quality(_Strict):
    """Thresholds of the great-expectations suites run on the staged publication
    (`pipelines/quality.py`); a breach blocks the publication."""

    # customer_worth rows may change by at most this fraction from one snapshot to the previous
    max_row_count_change: float = Field(gt=0)
    # |realised - target| incremental-class share allowed; see quality.py for the reasoning
    class_share_tolerance: float = Field(gt=0, lt=1)
    # the class-share expectation only applies to snapshots with at least this many customers of
    # known employees (with fewer, whole customers cannot approach 5 % steps)
    class_share_min_customers: int = Field(ge=1)
    # failing keys quoted per failed expectation in the check's metadata
    failing_keys_sample: int = Field(ge=1, le=1000)


class Ingest(_Strict):
    # a row waiting this many days for its customer is reported as an orphan (and still kept)
    orphan_after_days: int = Field(ge=0)


class Settings(_Strict):
    """Every parameter of the method (defaults in `default_config.yaml`)."""

    revenue_window_months: int = Field(ge=1, le=120)
    employee_size_bands: list[int]
    best_in_class: BestInClass
    actual_class_thresholds: list[float]
    incremental_class_shares: dict[int, float]
    grade_map: dict[str, list[int]]
    achievement: Achievement
    contact_economics: ContactEconomics
    planned_contacts_per_year: dict[str, float]
    at_risk: AtRisk
    dissatisfier_reason_codes: list[str]
    satisfier_reason_codes: list[str]
    defection: Defection
    contact_drivers: ContactDrivers
    impact_study: ImpactStudy
    health: Health
    backtest: Backtest
    quality: Quality
    ingest: Ingest

    @field_validator("employee_size_bands")
    @classmethod
    def _bands_increase(cls, bands: list[int]) -> list[int]:
        if not bands or bands[0] != 1 or any(b <= a for a, b in zip(bands, bands[1:], strict=False)):
            raise ValueError("must start at 1 and strictly increase, e.g. [1, 10, 50, ...]")
        return bands

    @field_validator("actual_class_thresholds")
    @classmethod
    def _four_increasing_thresholds(cls, thresholds: list[float]) -> list[float]:
        if len(thresholds) != 4 or any(b <= a for a, b in zip(thresholds, thresholds[1:], strict=False)):
            raise ValueError("needs four strictly increasing lower edges (classes 2..5)")
        return thresholds

    @field_validator("incremental_class_shares")
    @classmethod
    def _shares_sum_to_one(cls, shares: dict[int, float]) -> dict[int, float]:
        if set(shares) != {1, 2, 3, 4, 5}:
            raise ValueError(f"needs classes 1..5, got {sorted(shares)}")
        if any(s <= 0 for s in shares.values()) or abs(sum(shares.values()) - 1) > 1e-9:
            raise ValueError("shares must be positive and sum to 1")
        return shares

    @field_validator("grade_map")
    @classmethod
    def _grade_map_covers_every_cell(cls, grade_map: dict[str, list[int]]) -> dict[str, list[int]]:
        if set(grade_map) != set(GRADES):
            raise ValueError(f"needs exactly the grades {list(GRADES)}, got {sorted(grade_map)}")
        cells = [cell for cells in grade_map.values() for cell in cells]
        expected = {a * 10 + i for a in range(1, 6) for i in range(1, 6)}
        if sorted(cells) != sorted(expected):
            missing = sorted(expected - set(cells))
            duplicated = sorted({c for c in cells if cells.count(c) > 1})
            unknown = sorted(set(cells) - expected)
            raise ValueError(
                "must map each of the 25 cells 11..55 to exactly one grade "
                f"(missing {missing}, duplicated {duplicated}, unknown {unknown})"
            )
        return grade_map

    @field_validator("planned_contacts_per_year")
    @classmethod
    def _every_grade_planned(cls, planned: dict[str, float]) -> dict[str, float]:
        if set(planned) != set(GRADES):
            raise ValueError(f"needs exactly the grades {list(GRADES)}, got {sorted(planned)}")
        if any(v <= 0 for v in planned.values()):
            raise ValueError("planned contacts must be positive")
        return planned

    @model_validator(mode="after")
    def _reason_code_lists_disjoint(self) -> Settings:
        both = set(self.dissatisfier_reason_codes) & set(self.satisfier_reason_codes)
        if both:
            raise ValueError(f"reason codes listed as both satisfier and dissatisfier: {sorted(both)}")
        return self

    @property
    def contacts_per_manager_year(self) -> float:
        ce = self.contact_economics
        return ce.contacts_per_working_day * ce.working_days_per_year

    def grade_of_cell(self) -> dict[int, str]:
        return {cell: grade for grade, cells in self.grade_map.items() for cell in cells}


# Parameters by what they change. Checks and reports change no published number; the impact
# study is rebuilt whole from the stored snapshots on every run; every other parameter shapes the
# snapshot of each month it computes, so a changed value leaves the months computed before as
# they were: a history of mixed configurations unless they are restated.
RUN_ONLY_SECTIONS = ("quality", "ingest")
STUDY_SECTIONS = ("impact_study",)


def config_values(settings: Settings) -> dict[str, Any]:
    """Every parameter by its dotted name (`at_risk.recency_days`), JSON-serialisable."""
    dumped = settings.model_dump(mode="json")
    values: dict[str, Any] = {}
    for name in Settings.model_fields:
        if isinstance(getattr(settings, name), BaseModel):
            values.update({f"{name}.{key}": value for key, value in dumped[name].items()})
        else:
            values[name] = dumped[name]
    return values


def config_fingerprint(settings: Settings) -> tuple[str, str]:
    """(the config as canonical JSON, its SHA-256)."""
    text = json.dumps(settings.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return text, hashlib.sha256(text.encode()).hexdigest()


def section_of(parameter: str) -> str:
    return parameter.split(".", 1)[0]


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if (
            isinstance(value, dict)
            and isinstance(merged.get(key), dict)
            and key
            not in (
                "grade_map",
                "planned_contacts_per_year",
                "incremental_class_shares",
                "priors",
                "thresholds",
                "scores",
            )
        ):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def parse_config(raw: dict[str, Any], source: str = "<config>") -> Settings:
    """Validate a parsed YAML mapping (merged over the defaults); raise ConfigError on bad values."""
    defaults = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    try:
        return Settings.model_validate(_deep_merge(defaults, raw or {}))
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = ".".join(str(part) for part in error["loc"]) or "(top level)"
            problems.append(f"  {key}: {error['msg']} (got {error.get('input')!r})")
        raise ConfigError(f"invalid configuration in {source}:\n" + "\n".join(problems)) from None


def load_config(path: str | os.PathLike[str] | None = None) -> Settings:
    """Load the config named by `path`, else `ACCOUNTS_CONFIG`, else the packaged defaults."""
    path = paths.config_path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path} (set ACCOUNTS_CONFIG to an existing file)")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {path} must hold a mapping of parameters")
    return parse_config(raw, source=str(path))


def dbt_vars(settings: Settings) -> dict[str, Any]:
    """The parameters the dbt models read with `var(...)`, flat and JSON-serialisable, plus the
    method's vocabularies."""
    grade_of_cell = settings.grade_of_cell()
    return vocabulary_vars() | {
        "revenue_window_months": settings.revenue_window_months,
        "employee_size_bands": settings.employee_size_bands,
        "bic_statistic": settings.best_in_class.statistic,
        "bic_quantile": settings.best_in_class.quantile,
        "bic_min_peers": settings.best_in_class.min_peers,
        "actual_class_thresholds": settings.actual_class_thresholds,
        # cumulative top shares: class 5 if top_share <= c5, 4 if <= c4, ...
        "incremental_class_cutoffs": _cumulative_cutoffs(settings.incremental_class_shares),
        "incremental_class_shares": {str(k): v for k, v in settings.incremental_class_shares.items()},
        "grade_of_cell": {str(cell): grade for cell, grade in sorted(grade_of_cell.items())},
        "achievement_prior": settings.achievement.prior,
        "achievement_weight": settings.achievement.shrinkage_weight,
        "contacts_per_working_day": settings.contact_economics.contacts_per_working_day,
        "working_days_per_year": settings.contact_economics.working_days_per_year,
        "manager_annual_cost": settings.contact_economics.manager_annual_cost,
        "planned_contacts_per_year": settings.planned_contacts_per_year,
        "at_risk_recency_days": settings.at_risk.recency_days,
        "at_risk_decline_ratio": settings.at_risk.decline_ratio,
        "at_risk_dissatisfier_contacts": settings.at_risk.dissatisfier_contacts,
        "at_risk_dissatisfier_window_days": settings.at_risk.dissatisfier_window_days,
        "at_risk_gap_multiple": settings.at_risk.gap_multiple,
        "at_risk_gap_min_days": settings.at_risk.gap_min_days,
        "dissatisfier_reason_codes": settings.dissatisfier_reason_codes,
        "satisfier_reason_codes": settings.satisfier_reason_codes,
        "defection_priors": settings.defection.priors,
        "defection_weight": settings.defection.shrinkage_weight,
        "driver_min_support": settings.contact_drivers.min_support,
        "driver_dissatisfier_lift": settings.contact_drivers.dissatisfier_lift,
        "driver_satisfier_lift": settings.contact_drivers.satisfier_lift,
        "programme_start_date": (
            settings.impact_study.programme_start_date.isoformat()
            if settings.impact_study.programme_start_date
            else None
        ),
        "health_components": {name: c.model_dump() for name, c in settings.health.components.items()},
        "health_healthy_score": settings.health.bands.healthy,
        "health_watch_score": settings.health.bands.watch,
        "backtest_horizon_months": settings.backtest.horizon_months,
    }


def _cumulative_cutoffs(shares: dict[int, float]) -> dict[str, float]:
    cutoffs, running = {}, 0.0
    for cls in (5, 4, 3, 2):
        running += shares[cls]
        cutoffs[str(cls)] = round(running, 12)
    return cutoffs
