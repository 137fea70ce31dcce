"""python -m tools.local_invoke: see tools/local_invoke/__init__.py."""

import sys

from tools.local_invoke.command import main

sys.exit(main())
