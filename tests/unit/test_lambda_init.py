"""Lambda's init (importing forwarder.handler) leaves what it built frozen for the garbage collector."""

from __future__ import annotations

import os
import subprocess
import sys


def test_lambdas_init_freezes_what_it_built_and_leaves_the_collector_on():
    # A full collection would otherwise walk init's objects (botocore's models, Powertools) on every batch.
    # Unfrozen again afterwards, a collection shows whether init left garbage cycles, which freezing would keep
    # for the life of the process.
    code = ("import gc; before = gc.get_freeze_count(); import forwarder.handler; frozen = gc.get_freeze_count(); "
            "gc.unfreeze(); print(before, frozen, gc.isenabled(), gc.collect())")
    run = subprocess.run([sys.executable, "-c", code], env=dict(os.environ), capture_output=True, text=True,
                         check=True)
    before, frozen, enabled, garbage = run.stdout.split()
    assert before == "0"
    assert int(frozen) > 10_000  # the whole of init: botocore's clients and models among them
    assert enabled == "True"
    # Init's garbage is kept with it (a collection first would add tens of milliseconds to every cold start): a few
    # hundred objects of botocore's discarded credential providers with this suite's settings, none by default.
    assert int(garbage) < 2_000
