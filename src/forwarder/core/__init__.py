"""The types, codes and rules that cross the pipeline's boundaries: every other part imports them, they import
nothing of the forwarder's but each other (tests/unit/test_import_graph.py holds them to it)."""
