"""Tests over HTTP to 127.0.0.1: the fault endpoint, moto server, the Lambda runtime client."""
