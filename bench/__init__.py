"""`make bench`: the forwarder beside the usual ways of doing its job, on one local endpoint, in one run.

Modules:
  workload    SQS events of ~100-byte JSON bodies, in Lambda's exact shape (10,000 records: 5.7 MB)
  contenders  the warm handler; Powertools' BatchProcessor, one put_events per record; the AWS docs'
              loop of sequential 10-entry chunks; the SDK floor (pre-built 10-entry calls, nothing else)
  runner      wall time, records/s and CPU per record, contenders interleaved cell by cell; levers
  coldstart   fresh processes: the handler answering one record vs bare boto3 making one call
  limit       the physical limit: the primitives no implementation can skip, beside the forwarder
  memory      peak RSS of a 10,000-record batch in a fresh process
  report      BENCHMARKS.md and bench/throughput.png from the results
"""
