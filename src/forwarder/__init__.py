"""Forward SQS, Kinesis and DynamoDB Streams batches onto Amazon EventBridge, reporting every record not confirmed.

`forwarder.put_events` is the same engine for your own code: any number of entries, packed,
sent concurrently, retried where retrying helps, one result per entry (see forwarder.library.bulk). It and the
command (forwarder.command.cli) need botocore alone: nothing on their path imports the Lambda function's dependencies.
`forwarder.__version__` is the version pyproject.toml gives (see forwarder.version).
"""

__all__ = ["__version__", "put_events", "put_raw_events"]


def __getattr__(name: str):
    # Imported on first use, so that importing a submodule (as Lambda does) pulls in nothing more.
    if name == "put_events":
        from forwarder.library.bulk import put_events

        return put_events
    if name == "put_raw_events":  # PutRawEvents on a Custom Event Bus (forwarder.library.raw_bulk)
        from forwarder.library.raw_bulk import put_raw_events

        return put_raw_events
    if name == "__version__":
        from forwarder.version import version

        return version()
    raise AttributeError(f"module 'forwarder' has no attribute {name!r}")
