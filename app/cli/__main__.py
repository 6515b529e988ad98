"""``python -m app.cli`` is the same as the ``lineage`` command."""

import sys

from app.cli import main

sys.exit(main())
