"""The Spark engine: the library's partition functions run per account range on a Spark cluster.

Nothing here reimplements a stage. The pandas engine (core/partitions.py) feeds a *partition
function* one account range's tables at a time; this package feeds the very same function the same
tables from Spark DataFrames, one `groupBy(partition).applyInPandas` group per account range, with
the account ranges computed on the driver exactly as the pandas engine computes them. pyspark is
imported only when a Spark run starts, so the pandas path never pays for it. See docs/spark.md.
"""
