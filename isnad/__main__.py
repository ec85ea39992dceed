"""Run the isnad command line as `python -m isnad`."""

import sys

from isnad.cli import main

sys.exit(main())
