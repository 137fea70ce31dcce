"""`python -m forwarder redrive`: parked records brought back. command.py (the command line), run.py (one run
over a queue), parked.py (a parked message -> a quarantined record or a stream range), stream_range.py (the range
read again), resend.py (sent again through the function's pipeline, or requeued: requeue.py)."""
