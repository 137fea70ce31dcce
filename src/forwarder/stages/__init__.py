"""The optional stages around publishing, each on or off from the settings: the claim check (an entry too large
for a request goes to S3), the quarantine queue (poison records moved aside), the visibility backoff (SQS records
reported for redelivery come back later)."""
