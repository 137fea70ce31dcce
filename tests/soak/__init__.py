"""The forwarder under load: a short soak, the simulated event sources, the benchmark harness."""
