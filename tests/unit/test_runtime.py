"""runtime.first_completed: concurrent.futures.wait(FIRST_COMPLETED)'s answer, by one done callback per future."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor

from forwarder.publish.runtime import first_completed


def test_it_answers_what_is_done_and_times_out_with_nothing():
    pending, done = Future(), Future()
    done.set_result(1)
    # GIVEN one future done and one not WHEN waited for THEN only the done one comes back, at once
    assert first_completed([pending, done], timeout=5) == {done}
    # WHEN nothing finishes within the timeout THEN nothing comes back
    assert first_completed([pending], timeout=0.01) == set()
    # WHEN it finishes later THEN the next wait sees it
    pending.set_result(2)
    assert first_completed([pending], timeout=5) == {pending}


def test_a_future_left_behind_does_not_answer_a_later_wait():
    left, wanted = Future(), Future()
    assert first_completed([left], timeout=0) == set()  # watched, then given up
    left.set_result("late")
    wanted.set_result("mine")
    # GIVEN a future finished after its caller stopped waiting WHEN another is waited for THEN only that one
    assert first_completed([wanted], timeout=5) == {wanted}


def test_threads_never_take_each_others_futures():
    # GIVEN two threads, each waiting on its own futures from one pool WHEN they all finish
    with ThreadPoolExecutor(4) as pool:
        seen: dict[str, set] = {}

        def waiter(name: str) -> None:
            futures = {pool.submit(lambda n=n: n, n) for n in range(50)}
            got: set = set()
            while futures - got:
                got |= first_completed(futures - got, timeout=10)
            seen[name] = {future.result() for future in got}

        threads = [threading.Thread(target=waiter, args=(name,)) for name in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    # THEN each saw all of its own
    assert seen == {"a": set(range(50)), "b": set(range(50))}
