"""What crosses the pipeline's boundaries: the items, codes, outcomes and calls every part names, the size and
trace-header rules, and the JSON reading and writing they share (fast_json.py). Every other part imports them;
they import nothing of the forwarder's but each other (tests/unit/test_import_graph.py holds them to it)."""
