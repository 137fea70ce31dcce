"""The Lambda function's glue below handler.py: `Forwarder` and `build_forwarder` (forwarder.py), the log lines
and metrics of an invocation (report.py), and the SnapStart hooks (snapstart.py)."""
