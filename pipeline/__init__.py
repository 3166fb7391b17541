"""Top layer: one function per DVC stage (pipeline.stages) and the command line over them."""
