"""A local Spark session for the Spark engine's tests: two cores, two shuffle partitions, no UI, Spark's
scratch folders in a temporary directory; one per test process (starting one costs seconds), stopped at its end."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def spark():
    from pipeline.spark.session import get_session

    session = get_session("local[2]", shuffle_partitions=2)
    session.conf.set("spark.sql.adaptive.enabled", "false")  # tiny books: no re-planning between stages
    yield session
    session.stop()
