"""The codes of our own that an outcome carries, for records that never got an answer from EventBridge, beside
the service's own (which only the retry policy, publish/retry_policy.py, names). Every stage that refuses a record
says why with one of these, and the retry policy decides on them as on the service's codes."""

INVALID_RECORD = "InvalidRecord"  # a record that cannot be read into an entry (records/)
INVALID_ARGUMENT = "InvalidArgument"  # the code EventBridge itself gives a malformed entry
DEADLINE_EXCEEDED = "DeadlineExceeded"  # not confirmed (or not read, or not prepared) before the deadline
NOT_READ = "not read before the invocation's deadline"
NOT_PREPARED = "not prepared before the invocation's deadline"
SHAPING_FAILED = "ShapingFailed"  # EVENT_DETAIL or EVENT_FILTER failed on a record (entries/shaping.py)

ENTRY_TOO_LARGE = "EntryTooLarge"
# Not confirmed because the caller stopped the call (an interrupted command): the message says whether it was sent.
STOPPED = "Interrupted"
GROUP_BLOCKED = "GroupBlocked"
# An answer that cannot be read (not PutEvents' shape, or results that cannot be matched to the entries):
# the service may or may not have taken the entries, so they are retried like a failed request.
MALFORMED_RESPONSE = "MalformedResponse"
REQUEST_FAILED = "RequestFailed"
# An entry refused alone with a content code (see `RetryPolicy.content_request_codes`): EventBridge's own per-entry
# code for an entry it will never take, so that the quarantine takes it as poison. (Settings and the entry builders
# check what is common to all entries, the bus name and endpoint id, so a lone refusal speaks of that one record.)
REFUSED_ALONE = INVALID_ARGUMENT
REQUEST_TOO_LARGE = 413
