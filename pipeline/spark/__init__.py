"""The Spark engine: the library's partition functions run per account partition on a Spark cluster.

Nothing here reimplements a stage. The pandas engine (core/partitions.py) feeds a *partition
function* one partition's tables at a time; this package feeds the very same function the same
tables on Spark's executors, one group (or task) per partition, with the partitions computed on the
driver exactly as the pandas engine computes them (pipeline/spark/engine.py). pyspark is imported
only when a Spark run starts, so the pandas path never pays for it. See docs/spark.md.
"""
