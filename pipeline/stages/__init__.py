"""One module per DVC stage: a small function that reads inputs, calls library code, writes outputs.

Each module exposes `run(...)` (library-callable, used by tests) and `command(...)`, the
typer entry point that dvc.yaml calls through `python -m pipeline <stage>`.
"""
