"""`forwarder.put_events` and `forwarder.put_raw_events`: the publisher for your own code (bulk.py, raw_bulk.py),
with the region and credentials found as the AWS CLI finds them (aws_setup.py). botocore alone: nothing here
imports the record readers or Powertools."""
