"""The environment -> `Settings`, read and checked once at cold start: a wrong value raises `ConfigurationError`
naming the variable (settings.py; raw mode's RAW_* variables in raw_settings.py; the shared readers in
env_values.py)."""
