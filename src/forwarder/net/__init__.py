"""The network below botocore where it pays: the classic bus's PutEvents request (wire.py, signing.py, http1.py),
keep-alive connections bounded by the deadline (connections.py), and the botocore clients that send on them
(clients.py)."""
