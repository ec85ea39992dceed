"""`python -m bench.embed`, the documented name of `python -m bench.perf.embed`."""

import sys

from bench.perf.embed import main

if __name__ == "__main__":
    sys.exit(main())
