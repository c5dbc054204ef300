"""``python -m pipeline``: the ``lemsim`` console script (:mod:`pipeline.cli`)."""

import sys

from pipeline.cli import main

sys.exit(main())
