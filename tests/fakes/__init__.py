"""Fakes at the network boundary: local endpoints that stand in for AWS services."""
