"""python -m fbtime -> the fbtime command."""

import sys

from fbtime.cli import main

sys.exit(main())
