"""Human-readable tables (rich) for the CLI; the --json paths print the same dicts."""
from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table


def _console() -> Console:
    # piped output (logs, CI) gets a wide fixed width instead of rich's 80 columns
    return Console() if sys.stdout.isatty() else Console(width=160)


def _shape(s) -> str:
    return "x".join(map(str, s))


def print_summary(info: dict) -> None:
    con = _console()
    t = Table(title=f"{info['name']} ({info['format']})", title_justify="left")
    for col, just in (("#", "right"), ("node", "left"), ("op", "left"), ("in", "left"),
                      ("out", "left"), ("params", "right"), ("MACs", "right"),
                      ("attrs", "left"), ("quant", "left")):
        t.add_column(col, justify=just, overflow="fold")
    for r in info["layers"]:
        t.add_row(str(r["index"]), r["name"], r["op"], _shape(r["input_shape"]),
                  _shape(r["output_shape"]), f"{r['params']:,}", f"{r['macs']:,}",
                  r["attrs"], r["quant"])
    con.print(t)
    tot = info["totals"]
    io = lambda d: f"{d['name']} {_shape(d['shape'])} {d['dtype']}" + (
        f" (s={d['scale']:.6g}, z={d['zero_point']})" if "scale" in d else "")
    con.print(f"inputs:  {', '.join(io(d) for d in info['inputs'])}")
    con.print(f"outputs: {', '.join(io(d) for d in info['outputs'])}")
    con.print(f"totals:  {tot['nodes']} nodes, {tot['params']:,} parameters "
              f"({tot['param_bytes']:,} bytes), {tot['macs']:,} MACs, largest activation "
              f"{tot['largest_activation_bytes']:,} bytes")
    con.print("ops:     " + ", ".join(f"{k} x{v}" for k, v in tot["ops"].items()))


def print_eval(out: dict) -> None:
    con = _console()
    t = Table(title="evaluation", title_justify="left")
    t.add_column("metric")
    t.add_column("value", justify="right")
    t.add_row("model", out["model"])
    t.add_row("executor", out["executor"])
    t.add_row("inputs", f"{out['n']:,}")
    t.add_row("top-1", f"{out['top1'] * 100:.1f} %")
    if "tflm_identical" in out:
        t.add_row("TFLM top-1", f"{out['tflm_top1'] * 100:.1f} %")
        t.add_row("identical to TFLM", "yes, every element" if out["tflm_identical"]
                  else f"NO: {out['tflm_first_mismatch']}")
    con.print(t)


def print_kv(title: str, out: dict) -> None:
    """A two-column summary table (the --json output, for people)."""
    con = _console()
    t = Table(title=title, title_justify="left")
    t.add_column("item")
    t.add_column("value", justify="right")
    for k, v in out.items():
        t.add_row(k.replace("_", " "), f"{v:.6g}" if isinstance(v, float) else str(v))
    con.print(t)


def print_profile(p: dict) -> None:
    con = _console()
    t = Table(title=f"instructions per layer on {p['board']} ({p['core']}, {p['opt']}, QEMU, exact)",
              title_justify="left")
    for col in ("#", "op", "MACs", "instructions", "insn/MAC", "share"):
        t.add_column(col, justify="left" if col == "op" else "right")
    for r in p["layers"]:
        t.add_row(str(r["layer"]), r["op"], f"{r['macs']:,}", f"{r['instructions']:,}",
                  f"{r['insns_per_mac']:.2f}" if r["insns_per_mac"] else "-",
                  f"{100 * r['instructions'] / p['instructions']:.1f} %")
    t.add_row("", "total", f"{p['macs']:,}", f"{p['instructions']:,}", f"{p['insns_per_mac']:.2f}", "100 %")
    con.print(t)
    con.print(f"flash {p['flash_bytes']:,} B (whole ELF: code + model parameters {p['model_parameter_bytes']:,} B); "
              f"RAM {p['ram_bytes']:,} B (arena {p['arena_bytes']:,} + stack ~{p['stack_bytes_estimate']:,})")
    if "cycle_estimate" in p:
        _print_profile_estimate(con, p)


def _print_profile_estimate(con: Console, p: dict) -> None:
    """The cycle ESTIMATE beside the exact counts: per layer, then per instruction class."""
    e = p["cycle_estimate"]
    mhz, ws = e["clock_hz"] / 1e6, e["flash_wait_states"]
    t = Table(title=f"ESTIMATED cycles per layer ({p['core']}, {mhz:g} MHz, {ws} flash WS)",
              title_justify="left")
    for col in ("#", "op", "est. cycles", "cycles/insn", "est. ms"):   # 5 columns: not the table above
        t.add_column(col, justify="left" if col == "op" else "right")
    for r in p["layers"]:
        t.add_row(str(r["layer"]), r["op"], f"{r['est_cycles']:,}",
                  f"{r['est_cycles'] / r['instructions']:.2f}" if r["instructions"] else "-", f"{r['est_ms']:.3f}")
    t.add_row("", "total", f"{e['cycles']:,}", f"{e['cycles_per_instruction']:.2f}", f"{e['ms']:.3f}")
    con.print(t)
    n = sum(e["classes"].values()) or 1
    con.print("instruction classes (exact): " + ", ".join(
        f"{k} {v / n * 100:.1f} %" for k, v in sorted(e["classes"].items(), key=lambda kv: -kv[1]) if v),
        highlight=False)
    _print_estimate_notes(con, e)


def _print_estimate_notes(con: Console, e: dict) -> None:
    """The ESTIMATE's sources and omissions, once (profile: one inference; deploy: the
    figures of the whole stream carry a stream_ prefix)."""
    def get(k: str):
        return e.get(k, e.get(f"stream_{k}"))

    extra = ""
    if e["flash_wait_states"]:
        extra = (f"; {get('flash_stall_cycles'):,} of the cycles are flash wait states ({e['flash_wait_states']} "
                 "per instruction fetch and per data read from flash, no accelerator: an upper bound)")
    if get("cycles_single_issue") is not None:
        extra += (f"; M7 dual issue: between {get('cycles_all_pairs_dual_issued'):,} and "
                  f"{get('cycles_single_issue'):,} cycles, midpoint reported")
    con.print(f"ESTIMATE: {e['timing_source']}; {', '.join(e['timing_notes'])}{extra}. "
              f"Ignores {e['ignores']}.", highlight=False)


def print_boards(boards: list[dict]) -> None:
    t = Table(title="boards", title_justify="left")
    for col in ("board", "core", "FPU", "DSP", "clock", "flash", "RAM", "front end", "audio", "runs on"):
        t.add_column(col, overflow="fold")
    for b in boards:
        if b["core"] == "host":
            t.add_row(b["name"], "host", "", "", "", "", "", "", "", "this machine (gcc; `run` only)")
            continue
        t.add_row(b["name"], b["core"], "yes" if b["fpu"] else "no", "yes" if b["dsp"] else "no",
                  f"{b['clock_hz'] / 1e6:g} MHz", f"{b['flash_bytes'] // 1024:,} KB",
                  f"{b['ram_bytes'] // 1024:,} KB", b["frontend"], b["audio"],
                  f"QEMU {b['emulator']}" if b["emulator"] else f"PlatformIO {b['pio_platform']}/{b['pio_board']}")
    _console().print(t)


def print_deploy(out: dict) -> None:
    con = _console()
    for c in out.get("clips", []):
        con.print(f"{c['wav']}: {c['label']} {c['score']:.3f}", highlight=False)
    for d in out.get("detections", []):
        con.print(f"detected {d['label']} {d['score']:.3f} at {d['ms']} ms", highlight=False)
    t = Table(title=f"deploy: {out['board']} ({out['core']})", title_justify="left")
    t.add_column("item")
    t.add_column("value", justify="right")
    c = out["compression"]
    t.add_row("compression", f"{c['method']}: weights {c['weight_ratio']}x, model {c['model_ratio']}x "
              f"({c['model_bytes']:,} B)")
    if "flash_bytes" in out:
        t.add_row("flash (arm-none-eabi-size)", f"{out['flash_bytes']:,} B")
        t.add_row("static RAM", f"{out['ram_bytes']:,} B")
    else:
        t.add_row("flash / RAM (estimate)", f"{out['estimate']['flash_bytes']:,} B / "
                  f"{out['estimate']['ram_bytes']:,} B")
    if "verification" in out:
        t.add_row("self-check vs NumPy reference", out["verification"])
    if "instructions_per_second_audio" in out:
        t.add_row("instructions / s of audio", f"{out['instructions_per_second_audio']:,}")
        t.add_row("real-time load at board clock", f"{out['realtime_load'] * 100:.0f} % (1 insn/cycle)")
    if "cycle_estimate" in out:
        e = out["cycle_estimate"]
        t.add_row("ESTIMATED cycles / s of audio", f"{e['cycles_per_second_audio']:,} "
                  f"({e['cycles_per_instruction']:.2f} cycles/insn)")
        t.add_row("ESTIMATED real-time load", f"{e['realtime_load'] * 100:.0f} % ({e['ms_per_second_audio']:.1f} ms "
                  f"per s of audio at {e['clock_hz'] / 1e6:g} MHz, {e['flash_wait_states']} flash wait states)")
    if "inferences" in out and out["inferences"] is not None:
        t.add_row("stream", f"{out['stream_ms']:,} ms, {out['inferences']} inferences, "
                  f"{len(out['detections'])} detections")
    t.add_row("project", out["output"])
    t.add_row("time", f"{out['seconds']} s")
    con.print(t)
    if "cycle_estimate" in out:
        _print_estimate_notes(con, out["cycle_estimate"])

