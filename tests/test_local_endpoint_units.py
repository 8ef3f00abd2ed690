"""Unit tests of the local endpoint's pure parts: job states, scaling, worker env, config.

No worker process is started here; only the last test opens sockets (endpoints
with no workers) and imports ``runpod``.
"""

from __future__ import annotations

import signal
from types import SimpleNamespace

import pytest
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from local_endpoint.config import EndpointConfig
from local_endpoint.job_store import JobStore
from local_endpoint.jobs import (CANCELLED, COMPLETED, FAILED, FINAL_STATUSES, IN_PROGRESS,
                                 IN_QUEUE, TIMED_OUT, Ignored)
from local_endpoint.scaling import plan_scaling
from local_endpoint.webhooks import webhook_refusal
from local_endpoint.worker_env import worker_environment
from local_endpoint.processes import describe_exit
from local_endpoint.workers import Worker


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_store(max_retries: int = 2):
    clock = FakeClock()
    finals = []
    store = JobStore(max_retries=max_retries, on_final=finals.append, clock=clock)
    return store, clock, finals


# ------------------------------------------------------------------ job states
def test_progress_after_the_result_is_ignored_and_output_kept():
    store, _, _ = make_store()
    job = store.submit({"x": 1})
    store.take("w1")
    assert store.record_result("w1", job.id, {"output": "final"}) is None
    assert store.record_progress("w1", job.id, 99) is Ignored.FINAL
    assert job.status == COMPLETED and job.status_body()["output"] == "final"


def test_a_job_is_never_completed_twice():
    store, _, finals = make_store()
    job = store.submit(1)
    store.take("w1")
    store.record_result("w1", job.id, {"output": "first"})
    assert store.record_result("w1", job.id, {"output": "second"}) is Ignored.FINAL
    assert job.output == "first" and finals == [job] and store.completed == 1


def test_a_result_from_another_worker_is_ignored():
    store, _, _ = make_store()
    job = store.submit(1)
    store.take("w1")
    assert store.record_result("w2", job.id, {"output": "x"}) is Ignored.OTHER_WORKER
    assert store.record_chunk("w2", job.id, "c") is Ignored.OTHER_WORKER
    assert job.status == IN_PROGRESS and job.chunks == []


def test_progress_shows_as_output_only_while_in_progress():
    store, _, _ = make_store()
    job = store.submit(1)
    assert store.record_progress("w1", job.id, 10) is Ignored.NOT_STARTED
    store.take("w1")
    store.record_progress("w1", job.id, 50)
    assert job.status_body()["output"] == 50


def test_a_timed_out_or_cancelled_job_does_not_show_its_last_progress_as_output():
    store, clock, _ = make_store()
    slow = store.submit(1, execution_timeout=5)
    store.take("w1")
    store.record_progress("w1", slow.id, {"percent": 40})
    clock.now += 6
    store.expire_timeouts()
    assert slow.status == TIMED_OUT and "output" not in slow.status_body()
    cancelled = store.submit(2)
    store.take("w1")
    store.record_progress("w1", cancelled.id, {"percent": 10})
    store.cancel(cancelled.id)
    assert cancelled.status == CANCELLED and "output" not in cancelled.status_body()


def test_an_error_result_fails_the_job_and_keeps_its_output():
    store, _, _ = make_store()
    job = store.submit(1)
    store.take("w1")
    store.record_result("w1", job.id, {"output": {"retry": True}, "error": "busy"})
    body = job.status_body()
    assert body["status"] == FAILED and body["error"] == "busy"
    assert body["output"] == {"retry": True} and store.failed == 1


def test_a_dict_error_still_fails_the_job():
    store, _, _ = make_store()
    job = store.submit(1)
    store.take("w1")
    store.record_result("w1", job.id, {"error": {"code": 7}})
    assert job.status == FAILED and '"code": 7' in job.error


def test_cancel_of_a_running_job_names_its_worker():
    store, _, _ = make_store()
    job = store.submit(1)
    store.take("w1")
    _, worker = store.cancel(job.id)
    assert worker == "w1" and job.status == CANCELLED
    assert store.record_result("w1", job.id, {"output": 1}) is Ignored.FINAL


def test_purge_cancels_queued_jobs_only():
    store, _, _ = make_store()
    running = store.submit(1)
    store.take("w1")
    queued = [store.submit(i) for i in range(3)]
    assert store.purge_queue() == 3
    assert all(j.status == CANCELLED for j in queued) and running.status == IN_PROGRESS
    assert store.in_queue() == 0


def test_a_lost_worker_requeues_its_job_first_then_fails_it_after_max_retries():
    store, _, _ = make_store(max_retries=2)
    job = store.submit("a")
    later = store.submit("b")
    for attempt, worker in enumerate(["w1", "w2"], start=1):
        assert store.take(worker) == [job]
        store.release_worker(worker, "was killed by SIGKILL")
        assert job.status == IN_QUEUE and store.retried == attempt
    store.take("w3")
    store.release_worker("w3", "was killed by SIGKILL")
    assert job.status == FAILED and "w3 was killed by SIGKILL" in job.error
    assert "max_retries=2" in job.error and store.retried == 2
    assert [a.worker_id for a in job.attempts] == ["w1", "w2", "w3"]
    assert later.status == IN_QUEUE


def test_execution_timeout_counts_from_the_take():
    store, clock, _ = make_store()
    job = store.submit(1, execution_timeout=2.0)
    clock.now += 10  # waiting in the queue does not count
    store.take("w1")
    clock.now += 1.9
    assert store.expire_timeouts() == []
    clock.now += 0.2
    assert store.expire_timeouts() == [(job, "w1")]
    assert job.status == TIMED_OUT and "2000 ms" in job.error


def test_results_are_forgotten_after_retention():
    store, clock, _ = make_store()
    sync_job, async_job = store.submit(1, sync=True), store.submit(2)
    store.take("w1", 2)
    store.record_result("w1", sync_job.id, {"output": 1})
    store.record_result("w1", async_job.id, {"output": 2})
    clock.now += 61
    assert store.drop_expired(retention=1800, sync_retention=60) == [sync_job.id]
    clock.now += 1800
    assert store.drop_expired(retention=1800, sync_retention=60) == [async_job.id]
    assert store.get(async_job.id) is None and store.completed == 2


def test_a_retried_job_does_not_replay_undelivered_chunks_of_the_lost_attempt():
    store, _, _ = make_store()
    job = store.submit(1)
    store.take("w1")
    store.record_chunk("w1", job.id, "a")
    assert store.next_chunks(job) == ["a"]  # delivered: repeated after a retry
    store.record_chunk("w1", job.id, "b")  # never delivered: dropped
    store.release_worker("w1", "was killed by SIGKILL")
    store.take("w2")
    store.record_chunk("w2", job.id, "a")
    store.record_chunk("w2", job.id, "b")
    assert store.next_chunks(job) == ["a", "b"]


def test_a_retried_job_without_delivered_chunks_forgets_its_first_chunk_time():
    store, clock, _ = make_store()
    job = store.submit(1)
    store.take("w1")
    store.record_chunk("w1", job.id, "a")
    store.release_worker("w1", "was killed by SIGKILL")
    assert job.chunks == [] and job.first_chunk_at is None


def test_a_job_past_retention_releases_its_input_output_and_chunks():
    store, clock, _ = make_store()
    job = store.submit({"big": "x" * 1000}, extra={"policy": {}})
    store.take("w1")
    store.record_chunk("w1", job.id, "chunk")
    store.record_result("w1", job.id, {"output": "y" * 1000})
    clock.now += 1801
    assert store.drop_expired(retention=1800, sync_retention=60) == [job.id]
    assert job.input is None and job.chunks == [] and job.extra == {}
    assert "output" not in job.status_body()
    assert job.finished_at is not None and job.attempts  # timing is kept


def test_delay_time_of_a_retried_job_ends_at_its_first_take():
    store, clock, _ = make_store()
    job = store.submit(1)
    clock.now += 1.0
    store.take("w1")
    clock.now += 5.0  # the lost attempt runs
    store.release_worker("w1", "was killed by SIGKILL")
    store.take("w2")
    clock.now += 0.5
    store.record_result("w2", job.id, {"output": 1})
    body = job.status_body()
    assert (body["delayTime"], body["executionTime"]) == (1000, 500)


def test_a_lost_job_fails_and_frees_its_worker_only_from_its_worker():
    store, _, finals = make_store()
    job = store.submit(1)
    store.take("w1")
    assert store.fail_lost("w2", job.id, "lost") is None and job.status == IN_PROGRESS
    assert store.fail_lost("w1", job.id, "lost") is job
    assert job.status == FAILED and job.error == "lost" and finals == [job]


def test_status_body_times_are_milliseconds():
    store, clock, _ = make_store()
    job = store.submit(1)
    clock.now += 1.5
    store.take("w1")
    clock.now += 0.25
    store.record_result("w1", job.id, {"output": None})
    body = job.status_body()
    assert (body["delayTime"], body["executionTime"]) == (1500, 250)
    assert "output" in body and body["output"] is None


def test_retry_requeues_only_failed_or_timed_out_jobs_and_clears_their_result():
    store, clock, finals = make_store()
    job = store.submit(1, execution_timeout=1.0)
    store.take("w1")
    assert store.retry(job.id)[1] is not None and job.status == IN_PROGRESS
    clock.now += 2
    store.expire_timeouts()
    assert store.failed == 1
    assert store.retry(job.id) == (job, None)
    assert job.status == IN_QUEUE and list(store.queue) == [job.id]
    assert "error" not in job.status_body() and "output" not in job.status_body()
    assert (store.failed, store.retried) == (0, 1)
    store.take("w2")
    store.record_result("w2", job.id, {"output": "ok"})
    assert job.status == COMPLETED and finals == [job, job]
    assert store.retry(job.id)[1] is not None and job.status == COMPLETED
    assert store.retry("unknown") == (None, None)


def test_jobs_past_their_ttl_are_deleted_whatever_their_state():
    store, clock, finals = make_store()
    queued, running = store.submit(1, ttl=10), store.submit(2, ttl=10)
    lasting = store.submit(3)
    store.take("w1", 1)  # the oldest: queued becomes running
    clock.now += 9.9
    assert store.drop_past_ttl() == []
    clock.now += 0.1
    assert store.drop_past_ttl() == [(queued, "w1"), (running, None)]
    assert store.get(queued.id) is None and store.get(running.id) is None
    assert list(store.queue) == [lasting.id] and finals == []
    assert queued.input is None  # released, as after retention


class JobStoreMachine(RuleBasedStateMachine):
    """Any interleaving of clients, workers and faults keeps the store's promises."""

    def __init__(self) -> None:
        super().__init__()
        self.store, self.clock, self.finals = make_store(max_retries=1)
        self.final_seen: dict[str, str] = {}

    @rule(payload=st.integers())
    def submit(self, payload):
        self.store.submit(payload, execution_timeout=5.0)

    @rule(worker=st.sampled_from(["w1", "w2"]), count=st.integers(1, 3))
    def take(self, worker, count):
        self.store.take(worker, count)

    @precondition(lambda self: self.store.jobs)
    @rule(data=st.data(), worker=st.sampled_from(["w1", "w2"]),
          kind=st.sampled_from(["result", "error", "progress", "chunk"]))
    def report(self, data, worker, kind):
        job_id = data.draw(st.sampled_from(sorted(self.store.jobs)))
        if kind == "result":
            self.store.record_result(worker, job_id, {"output": 1})
        elif kind == "error":
            self.store.record_result(worker, job_id, {"error": "e"})
        elif kind == "progress":
            self.store.record_progress(worker, job_id, 5)
        else:
            self.store.record_chunk(worker, job_id, "c")

    @precondition(lambda self: self.store.jobs)
    @rule(data=st.data())
    def cancel(self, data):
        self.store.cancel(data.draw(st.sampled_from(sorted(self.store.jobs))))

    @rule()
    def purge(self):
        self.store.purge_queue()

    @rule(worker=st.sampled_from(["w1", "w2"]))
    def lose_worker(self, worker):
        self.store.release_worker(worker, "died")

    @rule(seconds=st.floats(0, 10))
    def time_passes(self, seconds):
        self.clock.now += seconds
        self.store.expire_timeouts()

    @invariant()
    def final_statuses_never_change_and_are_reported_once(self):
        ids = [job.id for job in self.finals]
        assert len(ids) == len(set(ids))
        for job in self.finals:
            assert job.status in FINAL_STATUSES
            assert self.final_seen.setdefault(job.id, job.status) == job.status

    @invariant()
    def the_queue_holds_exactly_the_queued_jobs(self):
        queued = {j.id for j in self.store.jobs.values() if j.status == IN_QUEUE}
        assert sorted(queued) == sorted(self.store.queue)
        assert len(self.store.queue) == len(set(self.store.queue))

    @invariant()
    def running_jobs_have_a_worker_and_counters_add_up(self):
        for job in self.store.jobs.values():
            if job.status == IN_PROGRESS:
                assert job.worker_id is not None
            if job.status == IN_QUEUE:
                assert job.worker_id is None
        statuses = [j.status for j in self.store.jobs.values()]
        assert self.store.completed == statuses.count(COMPLETED)
        assert self.store.failed == statuses.count(FAILED) + statuses.count(TIMED_OUT)


JobStoreMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=30,
                                             deadline=None)
test_job_store_keeps_its_promises_under_any_interleaving = JobStoreMachine.TestCase


# --------------------------------------------------------------------- scaling
def worker(id, state, idle_since=None, external=False):
    # A spawned worker has a process; only its pid is ever read by the planner.
    w = Worker(id=id, spawned_at=0.0, process=None if external else SimpleNamespace(pid=1))
    if state != "initializing":
        w.ready_at = 1.0
    if state == "running":
        w.jobs.add("job")
    w.idle_since = idle_since
    return w


def plan(queued, workers, *, min_workers=0, max_workers=3, now=100.0, idle_timeout=5.0):
    return plan_scaling(queued=queued, workers=workers, min_workers=min_workers,
                        max_workers=max_workers, idle_timeout=idle_timeout, now=now)


def test_a_job_with_no_free_worker_starts_one():
    assert plan(1, []).spawn == 1
    assert plan(1, [worker("a", "running")]).spawn == 1
    assert plan(1, [worker("a", "idle", idle_since=99)]).spawn == 0
    assert plan(1, [worker("a", "initializing")]).spawn == 0


def test_spawns_never_exceed_max_workers_and_keep_min_workers():
    assert plan(10, [worker("a", "running")], max_workers=3).spawn == 2
    assert plan(0, [], min_workers=2).spawn == 2
    assert plan(0, [], max_workers=0).spawn == 0


def test_idle_workers_stop_after_the_timeout_down_to_min_workers():
    idle = [worker("a", "idle", idle_since=90), worker("b", "idle", idle_since=94),
            worker("c", "idle", idle_since=99)]
    assert plan(0, idle).stop == ("a", "b")
    assert plan(0, idle, min_workers=2).stop == ("a",)
    assert plan(1, idle).stop == ()  # work is waiting: nobody leaves


def test_external_workers_are_never_stopped():
    assert plan(0, [worker("x", "idle", idle_since=0, external=True)]).stop == ()


# ------------------------------------------------------------- worker env
def test_workers_never_see_the_developers_keys_or_home(tmp_path):
    parent = {"HOME": "/home/dev", "RUNPOD_API_KEY": "real-key", "RUNPOD_LOG_LEVEL": "INFO",
              "RUNPOD_REALTIME_PORT": "8000", "HF_HOME": "/models/hf", "PATH": "/bin"}
    env = worker_environment(parent=parent, home=str(tmp_path), base_url="http://127.0.0.1:1",
                             endpoint_id="ep", worker_id="worker-1", worker_key="wk",
                             ping_interval_ms=1000,
                             extra={"HOME": "/home/dev", "RUNPOD_AI_API_KEY": "nope",
                                    "RUNPOD_API_KEY": "real-key", "MODEL_NAME": "tiny"})
    assert env["HOME"] == str(tmp_path)
    assert "RUNPOD_API_KEY" not in env and "RUNPOD_REALTIME_PORT" not in env
    assert env["RUNPOD_AI_API_KEY"] == "wk" and env["RUNPOD_POD_ID"] == "worker-1"
    assert env["XDG_CACHE_HOME"] == "/home/dev/.cache" and env["HF_HOME"] == "/models/hf"
    assert env["RUNPOD_LOG_LEVEL"] == "INFO" and env["MODEL_NAME"] == "tiny"
    assert env["RUNPOD_SKIP_AUTO_SYSTEM_CHECKS"] == "true" and env["RUNPOD_PING_INTERVAL"] == "1000"


def test_webhook_templates_have_the_query_string_the_sdk_appends_to():
    env = worker_environment(parent={}, home="/h", base_url="http://127.0.0.1:1",
                             endpoint_id="ep", worker_id="w", worker_key="k",
                             ping_interval_ms=1000)
    assert env["RUNPOD_WEBHOOK_GET_JOB"] == "http://127.0.0.1:1/v2/ep/job-take/$ID?gpu=local"
    assert env["RUNPOD_LOG_LEVEL"] == "INFO"  # not the SDK's DEBUG: one line per poll
    assert "$RUNPOD_POD_ID/$ID?" in env["RUNPOD_WEBHOOK_POST_OUTPUT"]
    assert "$RUNPOD_POD_ID/$ID?" in env["RUNPOD_WEBHOOK_POST_STREAM"]
    assert env["RUNPOD_WEBHOOK_PING"].endswith("/ping/$RUNPOD_POD_ID?gpu=local")


# ------------------------------------------------------------ small helpers
@pytest.mark.parametrize("url", ["http://127.0.0.1:9/hook", "http://localhost/x",
                                 "https://[::1]:8443/", "http://127.8.9.10/"])
def test_loopback_webhooks_are_allowed(url):
    assert webhook_refusal(url) is None


@pytest.mark.parametrize("url", ["http://example.com/hook", "http://10.0.0.1/",
                                 "ftp://127.0.0.1/", "http://127.0.0.1.example.com/", 42])
def test_other_webhooks_are_refused_with_a_reason(url):
    assert webhook_refusal(url)


@pytest.mark.parametrize("changes, field", [
    ({"ping_interval_ms": 500}, "ping_interval_ms"),
    ({"max_workers": 1, "min_workers": 2}, "max_workers"),
    ({"stream_hold": 10}, "stream_hold"),
    ({"take_hold": 90}, "take_hold"),
    ({"worker_command": []}, "worker_command"),
    ({"api_key": "same", "worker_key": "same"}, "worker_key"),
])
def test_bad_settings_fail_at_construction_naming_the_field(changes, field):
    with pytest.raises(ValueError, match=f"EndpointConfig.{field}"):
        EndpointConfig(**changes)


def test_exit_descriptions_name_the_signal():
    assert "SIGKILL" in describe_exit(-signal.SIGKILL)
    assert describe_exit(3) == "exited with code 3"


def test_runpod_globals_come_back_whatever_order_endpoints_close_in():
    import runpod

    from local_endpoint import LocalEndpoint

    original = (runpod.endpoint_url_base, runpod.api_key)
    for close_first in (0, 1):
        endpoints = [LocalEndpoint(max_workers=0).start() for _ in range(2)]
        try:
            assert runpod.endpoint_url_base == endpoints[1].url
            endpoints[close_first].close()
            survivor = endpoints[1 - close_first]
            assert (runpod.endpoint_url_base, runpod.api_key) == (survivor.url, survivor.api_key)
        finally:
            for ep in endpoints:
                ep.close()
        assert (runpod.endpoint_url_base, runpod.api_key) == original
