"""The publisher and its parts: pack entries into requests, send them concurrently, retry what is retryable, keep
FIFO order, stop at the deadline; one `Outcome` per item (docs/architecture.md, "The publisher in parts")."""
