"""Roll-rate models: the Markov transition baseline, the calibrated LightGBM model, their
out-of-time evaluation, the flow-rate portfolio forecast and MLflow tracking/registry.

Imports go one way: models uses core and features, and is used by strategy and pipeline.
"""
import os

# LightGBM's OpenMP threads spin while waiting by default; on a shared 2-core machine (CI,
# `pytest -n 2`, a laptop running DVC and MLflow) that makes training several times slower.
# Passive waiting costs nothing when the cores are free. Must be set before OpenMP starts.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
