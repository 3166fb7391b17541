"""A SparkSession for the engine: the cluster's when there is one, else a local one that writes nothing
into the working directory.

Under spark-submit or on Databricks the session (and its master) already exists and is used as it
is. Run from a plain Python process, a local session is built: `DUNNING_SPARK_MASTER` (default
`local[*]`) as master, the Python workers started with this interpreter (so they import the same
installed project), the UI off, and Spark's scratch folders (warehouse, local dirs, Derby's home)
in a temporary folder rather than the current directory.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: Settings every session of the engine needs, local or on a cluster.
ENGINE_CONF = {
    # Timestamps cross into pandas as UTC instants, whatever the machine's zone.
    "spark.sql.session.timeZone": "UTC",
    # pandas writes nanosecond timestamps, which Spark's parquet reader refuses; read them as int64
    # nanoseconds instead (pipeline.spark.engine turns them back into the schema's timestamps).
    "spark.sql.legacy.parquet.nanosAsLong": "true",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


#: pyspark 4.3 warns on every pandas UDF it builds that pandas 3 is not yet "fully supported"; the engine's
#: outputs are checked equal to the pandas engine's (tests/test_spark_features.py), so the warning says
#: nothing about them.
PANDAS_3_WARNING = "PySpark does not yet fully support pandas >= 3"


@contextmanager
def quiet_pyspark() -> Iterator[None]:
    """Silence exactly pyspark's pandas-3 FutureWarning (warnings are errors in the tests)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=PANDAS_3_WARNING, category=FutureWarning)
        yield


def local_conf(scratch: Path, master: str, shuffle_partitions: int) -> dict[str, str]:
    """The settings of a local session whose scratch files all go under `scratch`."""
    derby = f"-Dderby.system.home={scratch / 'derby'}"
    return {
        "spark.master": master,
        "spark.app.name": "dunning",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": str(shuffle_partitions),
        "spark.sql.warehouse.dir": str(scratch / "spark-warehouse"),
        "spark.local.dir": str(scratch / "local"),
        "spark.driver.extraJavaOptions": derby,
        "spark.executor.extraJavaOptions": derby,
        "spark.sql.catalogImplementation": "in-memory",
        "spark.pyspark.python": sys.executable,
        "spark.pyspark.driver.python": sys.executable,
    }


def get_session(master: str | None = None, shuffle_partitions: int | None = None) -> SparkSession:
    """The active session (spark-submit, Databricks, a test's fixture) with the engine's settings, or a new
    local one."""
    with quiet_pyspark():
        return _session(master, shuffle_partitions)


def _session(master: str | None, shuffle_partitions: int | None) -> SparkSession:
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is None and "PYSPARK_GATEWAY_PORT" not in os.environ:  # a plain Python process: local mode
        master = master or os.environ.get("DUNNING_SPARK_MASTER", "local[*]")
        scratch = Path(tempfile.mkdtemp(prefix="dunning-spark-"))
        atexit.register(shutil.rmtree, scratch, ignore_errors=True)
        # the Python workers are started with PYSPARK_PYTHON (the spark.pyspark.python setting is read too late)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = SparkSession.builder
        for key, value in local_conf(scratch, master, shuffle_partitions or os.cpu_count() or 2).items():
            builder = builder.config(key, value)
        active = builder.getOrCreate()
        active.sparkContext.setLogLevel("ERROR")
    session = active or SparkSession.builder.getOrCreate()
    for key, value in ENGINE_CONF.items():
        session.conf.set(key, value)
    return session
