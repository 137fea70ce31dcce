"""Tests of the event forwarder."""
