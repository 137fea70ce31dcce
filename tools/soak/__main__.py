"""python -m tools.soak: see tools/soak/__init__.py."""

import sys

from tools.soak.command import main

sys.exit(main())
