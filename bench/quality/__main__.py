"""`python -m bench.quality`: every answer-quality figure, for the dev and test halves (figures.py)."""

import sys

from bench.quality.figures import main

sys.exit(main())
