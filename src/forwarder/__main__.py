"""`python -m forwarder COMMAND ...`: put-events (command/cli.py), put-raw-events (command/raw_cli.py),
redrive (redrive/command.py)."""

import sys
from importlib import import_module

from forwarder.command.cli import OTHER_COMMANDS, main

if sys.argv[1:2] and sys.argv[1] in OTHER_COMMANDS:
    module, _summary = OTHER_COMMANDS[sys.argv[1]]
    sys.exit(import_module(module).main(sys.argv[2:]))
sys.exit(main())
