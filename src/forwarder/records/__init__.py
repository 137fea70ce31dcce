"""The records of a Lambda event and what is read from them: event.py (`parse_event`: the event -> `SourceRecord`s,
one reader per source: sqs.py with SNS through SQS, kinesis.py with KPL aggregates, dynamodb.py), record.py (the
`SourceRecord` they share), trace_context.py (the trace header a record carries), view.py (the record as the
shaping expressions see it)."""
