"""`python -m routing ...`: see routing/cli/main.py."""

import sys

from routing.cli.main import main

sys.exit(main())
