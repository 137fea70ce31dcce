"""Where entries go: the target chosen once from the settings (buses.py: `target_for`), which owns every difference
between the buses (entries per request, the size count, the fields only it takes, the API, the deduplication
window), and the limits of each service model (limits.py)."""
