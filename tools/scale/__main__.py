"""python -m tools.scale: see tools/scale/__init__.py."""

import sys

from tools.scale.command import main

sys.exit(main())
