"""runtime.first_completed: concurrent.futures.wait(FIRST_COMPLETED)'s answer, by one done callback per future;
runtime.KeptPool: one thread pool for the calls of one publisher."""

from __future__ import annotations

import gc
import threading
import weakref
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from forwarder.publish.runtime import KeptPool, first_completed


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


# -- KeptPool: one pool for the calls of one publisher, each call seeing a pool of its own ----------------------


def test_calls_one_after_another_run_on_the_same_threads():
    kept = KeptPool()
    threads = set()
    for _ in range(3):
        pool = kept(2)
        threads |= {pool.submit(threading.current_thread).result(timeout=5) for _ in range(4)}
        pool.shutdown(wait=False, cancel_futures=True)
    # THEN no call started threads of its own: at most the pool's two, whatever the number of calls
    assert 1 <= len(threads) <= 2


def test_a_calls_shutdown_cancels_only_its_own_requests_not_started_and_ends_its_submits():
    kept = KeptPool()
    pool = kept(1)
    release = threading.Event()
    running = pool.submit(release.wait, 5)
    queued = pool.submit(lambda: "never")
    pool.shutdown(wait=False, cancel_futures=True)
    # THEN what had not started is cancelled, what runs goes on, and nothing more can be submitted through it
    assert queued.cancelled() and not running.cancelled()
    with pytest.raises(RuntimeError):
        pool.submit(lambda: None)
    # WHEN the next call comes while a request of the last one still runs THEN it gets threads of its own
    following = kept(1)
    assert following.submit(lambda: "mine").result(timeout=5) == "mine"
    following.shutdown(wait=False)
    release.set()
    assert running.result(timeout=5) is True


def test_calls_at_once_from_two_threads_do_not_share_a_pool():
    kept = KeptPool()
    first = kept(1)
    release = threading.Event()
    blocked = first.submit(release.wait, 5)
    # GIVEN a call still running WHEN another call starts meanwhile THEN its requests run at once, on other threads
    second = kept(1)
    assert second.submit(lambda: "second").result(timeout=5) == "second"
    release.set()
    for pool in (first, second):
        pool.shutdown(wait=True)
    assert blocked.result(timeout=5) is True
    # WHEN both have ended THEN the kept pool serves the next call
    third = kept(1)
    assert third.submit(lambda: 3).result(timeout=5) == 3
    third.shutdown(wait=True)


def test_a_kept_pools_tasks_end_as_thread_pool_executors_do():
    kept = KeptPool()
    pool = kept(2)
    # WHEN tasks return, raise (any BaseException) or take keyword arguments THEN their futures say so
    assert pool.submit(lambda value, *, plus: value + plus, 1, plus=2).result(timeout=5) == 3
    for error in (LookupError("no"), SystemExit(3), KeyboardInterrupt()):
        def raise_it(error=error):
            raise error
        assert pool.submit(raise_it).exception(timeout=5) is error
    # and the pool's threads go on taking tasks after any of them
    assert pool.submit(threading.current_thread).result(timeout=5).name.startswith("put-events")
    pool.shutdown(wait=True)


def test_a_kept_pool_runs_as_many_tasks_at_once_as_its_size_and_ends_its_threads_when_the_size_changes():
    kept = KeptPool()
    pool = kept(3)
    together = threading.Barrier(3, timeout=5)  # broken unless three tasks run at once

    def meet() -> threading.Thread:
        together.wait()
        return threading.current_thread()

    # WHEN three tasks wait for each other THEN they run at once, on three daemon threads of the pool
    threads = {future.result(timeout=10) for future in [pool.submit(meet) for _ in range(3)]}
    pool.shutdown(wait=True)
    assert len(threads) == 3 and all(thread.daemon and thread.name.startswith("put-events") for thread in threads)
    # WHEN the next call asks for another size THEN those threads end, and the new pool runs its tasks
    other = kept(1)
    assert other.submit(lambda: "other").result(timeout=5) == "other"
    other.shutdown(wait=True)
    for thread in threads:
        thread.join(timeout=5)
        assert not thread.is_alive()


def test_a_call_lets_go_of_its_finished_requests_as_it_goes():
    class Answer:
        pass

    kept = KeptPool()
    pool = kept(1)
    answers = []
    for _ in range(300):
        answers.append(weakref.ref(pool.submit(Answer).result(timeout=5)))
    # WHEN a call has sent many requests, each answered THEN it does not keep their answers to its end (the scheduler
    # lets go of each once settled), while what it has not finished is still its own to cancel
    release = threading.Event()
    running, queued = pool.submit(release.wait, 5), [pool.submit(Answer) for _ in range(3)]
    gc.collect()
    assert sum(answer() is None for answer in answers) >= 200
    pool.shutdown(wait=False, cancel_futures=True)
    assert all(future.cancelled() for future in queued) and not running.cancelled()
    release.set()
    assert running.result(timeout=5) is True
