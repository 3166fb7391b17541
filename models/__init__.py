"""Models by family: `common/` (dataset assembly, out-of-time split, calibration, metrics, MLflow
tracking and a registry any family plugs into) and one package per family (`roll_rate/`;
propensity and uplift next).

Imports go one way: models uses core and features, and is used by strategy and pipeline.
"""

from core import environment

# Before LightGBM or MLflow load: passive OpenMP waiting, no telemetry (core/environment.py says why).
environment.apply()
