"""Forward SQS and Kinesis batches onto Amazon EventBridge, reporting every record not confirmed."""
