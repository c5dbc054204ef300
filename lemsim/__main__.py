"""``python -m lemsim``: the ``lemsim`` console script (:mod:`lemsim.cli`)."""

import sys

from lemsim.cli import main

sys.exit(main())
