"""A `SourceRecord` -> an `Entry` for the target's API, or the reason it never becomes one (`Rejected`, `Filtered`):
shaping.py (EVENT_DETAIL, EVENT_FILTER and the rest), json_entries.py (PutEvents), raw_entries.py and raw_format.py
(PutRawEvents), detail_limits.py (what EventBridge refuses in a Detail)."""
