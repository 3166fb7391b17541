from core import lifecycle

# First, before the seconds of imports: a stage that DVC runs ends with DVC (core/lifecycle.py).
lifecycle.bind_to_parent()

from pipeline.cli import main  # noqa: E402

main()
