"""`python -m bench.fit`, the documented name of `python -m bench.quality.fit`."""

import sys

from bench.quality.fit import main

if __name__ == "__main__":
    sys.exit(main())
