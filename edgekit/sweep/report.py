"""From the results table to decisions: each row's score, the Pareto front per board,
the best configuration that fits each board and the command that deploys it, the plots.

score: top-1 on the user's labelled inputs when the sweep had them (--eval), else the
proxy (agreement with the float model on the synthetic set). A configuration is on the
front when no other on the same board is at least as good in score, flash bytes and
estimated ms, and better in one.
"""
from __future__ import annotations

import os
import shlex

from edgekit.synth import SynthConfig

_SYNTH_FLAGS = {"n": "--samples", "iters": "--iters", "lr": "--lr", "label_weight": "--label-weight",
                "tv_weight": "--tv-weight", "l2_weight": "--l2-weight"}


def score(row: dict) -> float | None:
    return row["accuracy"] if row.get("accuracy") is not None else row.get("proxy_agreement")


def score_name(rows: list[dict]) -> str:
    return "top-1" if any(r.get("accuracy") is not None for r in rows) else "proxy agreement"


def _dominates(a: dict, b: dict) -> bool:
    ka = (score(a), -a["flash_bytes"], -a["est_ms"])
    kb = (score(b), -b["flash_bytes"], -b["est_ms"])
    return all(x >= y for x, y in zip(ka, kb)) and ka != kb


def pareto(rows: list[dict]) -> list[dict]:
    """The non-dominated rows (of one board), by flash bytes."""
    ok = [r for r in rows if r["status"] == "ok"]
    front = [r for r in ok if not any(_dominates(o, r) for o in ok)]
    return sorted(front, key=lambda r: (r["flash_bytes"], r["est_ms"]))


def best(rows: list[dict]) -> dict | None:
    """Of one board's trials that fit it (edgekit.deploy.fit's headroom): the highest
    score, then the fewest estimated ms, then the fewest flash bytes."""
    fitting = [r for r in rows if r["status"] == "ok" and r["fits"]]
    return min(fitting, key=lambda r: (-score(r), r["est_ms"], r["flash_bytes"]), default=None)


def _synth_flags(synth: SynthConfig) -> list[str]:
    d = SynthConfig()
    return [x for k, flag in _SYNTH_FLAGS.items() if getattr(synth, k) != getattr(d, k)
            for x in (flag, f"{getattr(synth, k):g}")]


def deploy_command(trial) -> str:
    """The `edgekit` command line(s) that deploy this trial's configuration alone."""
    from edgekit.compress import MAX_DROP

    seed = ["--seed", str(trial.seed), *_synth_flags(trial.synth)]
    model, board = shlex.quote(trial.model), shlex.quote(trial.board)
    if trial.method == "int8":
        out = shlex.quote(os.path.splitext(os.path.basename(trial.model))[0] + "_int8.tflite")
        return (f"edgekit quantize {model} --data-free {' '.join(seed)} -o {out} && "
                f"edgekit deploy {out} --board {board}")
    c = ["--method", trial.method]
    if trial.method == "kmeans":
        c += ["--bins", str(trial.bins)]
    elif trial.target_ratio:
        c += ["--target-ratio", f"{trial.target_ratio:g}"]
    elif trial.max_drop is not None and trial.max_drop != MAX_DROP:
        c += ["--max-drop", f"{trial.max_drop:g}"]
    if trial.refine_steps != 2000:
        c += ["--refine-steps", str(trial.refine_steps)]
    if not trial.gptq:
        c.append("--no-gptq")
    return f"edgekit deploy {model} --board {board} {' '.join(c + seed)}"


def plot_pareto(rows: list[dict], board: str, path: str) -> None:
    """Score vs flash of one board's trials, colour = estimated ms per inference; the
    front joined and labelled."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in rows if r["status"] == "ok"]
    front = pareto(ok)
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=110)
    sc = ax.scatter([r["flash_bytes"] / 1024 for r in ok], [score(r) * 100 for r in ok],
                    c=[r["est_ms"] for r in ok], cmap="viridis", s=36, zorder=2)
    ax.plot([r["flash_bytes"] / 1024 for r in front], [score(r) * 100 for r in front], "k--", lw=0.8, zorder=1)
    for r in front:
        ax.annotate(f"{r['setting']} s{r['seed']}", (r["flash_bytes"] / 1024, score(r) * 100), fontsize=7,
                    xytext=(4, -10), textcoords="offset points")
    fig.colorbar(sc, ax=ax, label="ESTIMATED ms per inference at the board clock")
    ax.set_xlabel("flash of model + runtime (KB, arm-none-eabi-size)")
    ax.set_ylabel(f"{score_name(ok)} (%)")
    ax.set_title(f"{board}: {len(ok)} trials, Pareto front dashed", fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def summary(rows: list[dict]) -> dict:
    """Per board: trials, failures, the front and the best fitting configuration."""
    out = {}
    for board in sorted({r["board"] for r in rows}):
        rb = [r for r in rows if r["board"] == board]
        b = best(rb)
        out[board] = {"trials": len(rb), "failed": sum(r["status"] != "ok" for r in rb),
                      "pareto": [r["key"] for r in pareto(rb)],
                      "best": None if b is None else {k: b[k] for k in (
                          "key", "model", "setting", "seed", "weight_ratio", "flash_bytes", "est_ms",
                          "proxy_agreement", "accuracy", "deploy_command")}}
    return out
