import sys

if sys.argv[1:2] == ["put-raw-events"]:  # its own module (raw_cli.py), beside cli.py's commands
    from forwarder.raw_cli import main as put_raw_events

    sys.exit(put_raw_events(sys.argv[2:]))

if sys.argv[1:2] == ["redrive"]:  # its own module: the put-events command line stays as it is (cli.py)
    from forwarder.redrive_command import main as redrive

    sys.exit(redrive(sys.argv[2:]))

from forwarder.cli import main

sys.exit(main())
