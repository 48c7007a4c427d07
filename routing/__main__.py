"""`python -m routing ...`: see routing/cli.py."""

import sys

from routing.cli import main

sys.exit(main())
