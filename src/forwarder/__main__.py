import sys

if sys.argv[1:2] == ["redrive"]:  # its own module: the put-events command line stays as it is (cli.py)
    from forwarder.redrive_command import main as redrive

    sys.exit(redrive(sys.argv[2:]))

from forwarder.cli import main

sys.exit(main())
