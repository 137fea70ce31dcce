"""Pure tests: no network, no child processes; the forwarder's modules and the scripted service."""
