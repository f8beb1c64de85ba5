"""Trials as Ray tasks.

- One Ray task per (model, seed) makes the synthetic set; its result stays in Ray's
  object store and every trial of that model and seed takes it from there (the model's
  bytes too: put once).
- One Ray task per (model, seed, compression setting) compresses (the expensive part,
  minutes with learned rounding); the trials of every board take its files.
- One Ray task per trial (edgekit.sweep.trial.run_trial: code, QEMU count, scores), one
  CPU each. A task whose
  worker process dies is retried by Ray (MAX_RETRIES); an error of the trial itself (a
  model edgekit refuses) is not: it is recorded as a failed row.
- The driver writes each trial's artifacts and then its row as the trial ends (store.py),
  so a killed sweep resumes where it stopped.

`address` None starts Ray on this machine (embedded: nothing to set up, `num_cpus`
workers); otherwise it joins an existing cluster (`ray start --head` / KubeRay), whose
workers need edgekit installed (the same wheel).
"""
from __future__ import annotations

import socket

from edgekit.errors import EdgekitError, InputError

MAX_RETRIES = 3      # re-runs of a task whose worker process died (node lost, OOM kill, SIGKILL)
CONNECT_TIMEOUT_S = 5


def check_address(address: str) -> None:
    """An unreachable cluster is one clear line, before Ray's own minute of retries."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise InputError(f"--address {address!r}: expected HOST:PORT (e.g. 127.0.0.1:6379) or 'auto'")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as e:
        raise InputError(f"--address {address}: no Ray cluster reachable there ({e.strerror or e})") from None


def start(address: str | None, num_cpus: int | None) -> None:
    import logging

    import ray

    if address:   # reachable: pipeline.run_sweep checked it (check_address) before writing anything
        try:
            ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
        except Exception as e:   # Ray raises ConnectionError, RuntimeError, AuthenticationError, ...
            hint = ("; a cluster with token authentication needs RAY_AUTH_MODE=token and its token "
                    "(~/.ray/auth_token or RAY_AUTH_TOKEN)" if "auth" in str(e).lower() else "")
            raise InputError(f"--address {address}: cannot join the Ray cluster "
                             f"({type(e).__name__}: {str(e).splitlines()[0][:200]}){hint}") from None
    else:
        ray.init(num_cpus=num_cpus, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)


def _error(e: BaseException) -> str:
    """The one line a failed trial's row keeps."""
    import ray.exceptions as rx

    if isinstance(e, rx.RayTaskError):
        cause = e.cause if isinstance(getattr(e, "cause", None), BaseException) else None
        if isinstance(cause, EdgekitError):
            return str(cause)
        if cause is not None:
            return f"{type(cause).__name__}: {cause}"
    if isinstance(e, (rx.WorkerCrashedError, rx.NodeDiedError)):
        return f"the worker died {MAX_RETRIES + 1} times ({type(e).__name__})"
    return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"


def execute(trials, models: dict, evaluation, on_done) -> None:
    """Run the trials on the connected Ray cluster; on_done(trial, result | None, error | None)
    is called in the driver as each one ends, in completion order."""
    import ray

    from edgekit.sweep import trial as T

    opts = {"num_cpus": 1, "max_retries": MAX_RETRIES}
    synth_task = ray.remote(**opts)(T.synthetic_set)
    compress_task = ray.remote(**opts)(T.compressed)
    trial_task = ray.remote(**opts)(T.run_trial)
    model_refs = {m: ray.put(models[m]) for m in {t.model for t in trials}}
    eval_ref = ray.put(evaluation)
    sets: dict = {}
    models_c: dict = {}
    pending = {}
    for t in trials:
        sk = (t.model, t.synth_config())
        if sk not in sets:
            sets[sk] = synth_task.remote(t.model, model_refs[t.model], t)
        if t.compress_key not in models_c:
            models_c[t.compress_key] = compress_task.remote(t.model, model_refs[t.model], t, sets[sk])
        pending[trial_task.remote(t, model_refs[t.model], sets[sk], models_c[t.compress_key], eval_ref)] = t
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        t = pending.pop(ready[0])
        try:
            result = ray.get(ready[0])
        except ray.exceptions.RayError as e:
            on_done(t, None, _error(e))
        else:
            on_done(t, result, None)


def stop() -> None:
    import ray

    if ray.is_initialized():
        ray.shutdown()
