"""python -m tools.sam_local: see tools/sam_local/__init__.py."""

import sys

from tools.sam_local.command import main

sys.exit(main())
