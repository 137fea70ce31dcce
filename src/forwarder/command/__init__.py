"""`python -m forwarder put-events` and `put-raw-events` (the console scripts `eventbridge-put-events` and
`eventbridge-put-raw-events`): the library behind a command line that replaces `aws events put-events`."""
