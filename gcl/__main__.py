"""``python -m gcl``: the ``gcl`` command line (:mod:`gcl.app.cli`)."""

import sys

from gcl.app.cli import main

if __name__ == "__main__":
    sys.exit(main())
