"""params.yaml, parsed and validated in one place.

Each stage reads its own section through `load_params()`; a typo or an out-of-range value
fails here, before any work, with the key path in the message. Sections forbid unknown
keys so a misspelt knob is an error rather than silently ignored.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.buckets import Buckets
from core.errors import ParamsError
from core.paths import PARAMS_FILE


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BucketParams(Section):
    names: tuple[str, ...] = ("current", "dpd_1_29", "dpd_30_59", "dpd_60_89", "dpd_90_119", "dpd_120_179",
                              "charge_off")
    min_dpd: tuple[int, ...] = (0, 1, 30, 60, 90, 120, 180)

    @model_validator(mode="after")
    def _consistent(self) -> "BucketParams":
        self.as_buckets()  # raises ValueError with the reason
        return self

    def as_buckets(self) -> Buckets:
        return Buckets(names=self.names, min_dpd=self.min_dpd)


class SimulateParams(Section):
    """Size and shape of the simulated book; mechanism parameters live in simulator.config."""

    accounts: int = Field(20_000, ge=10)
    cycles: int = Field(24, ge=3, le=240)
    start_date: date = date(2024, 1, 1)


class ValidateParams(Section):
    as_of_date: date | None = None
    max_quarantine_share: float = Field(0.05, ge=0.0, le=1.0)


class FeaturesParams(Section):
    pass


class RollRateParams(Section):
    pass


class Params(Section):
    seed: int = 0
    buckets: BucketParams = BucketParams()
    simulate: SimulateParams = SimulateParams()
    validate_: ValidateParams = Field(ValidateParams(), alias="validate")
    features: FeaturesParams = FeaturesParams()
    roll_rate: RollRateParams = RollRateParams()

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def parse_params(raw: dict[str, Any] | None) -> Params:
    try:
        return Params.model_validate(raw or {})
    except ValidationError as exc:
        lines = [f"  {'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()]
        raise ParamsError("invalid params.yaml:\n" + "\n".join(lines)) from None


def load_params(path: Path = PARAMS_FILE) -> Params:
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise ParamsError(f"no params file at {path}") from None
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path} is not valid YAML: {exc}") from None
    return parse_params(raw)
