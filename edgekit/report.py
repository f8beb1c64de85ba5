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
    if "fit" in out:
        f = out["fit"]
        t.add_row("fit (codebook size)", f"{f['bins']} codes per layer{' (narrowed to fit)' if f['changed'] else ''}; "
                  f"budget {f['budget']['flash_bytes']:,} B flash, {f['budget']['ram_bytes']:,} B RAM "
                  f"({f['headroom']:.0%} of the board left for the application)")
    if "realtime" in out:
        _realtime_rows(t, out["realtime"])
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
    _memory_rows(t, out)
    t.add_row("project", out["output"])
    t.add_row("time", f"{out['seconds']} s")
    con.print(t)
    if "cycle_estimate" in out:
        _print_estimate_notes(con, out["cycle_estimate"])


def _realtime_rows(t: Table, rt: dict) -> None:
    """The detector's stride for the board's clock (edgekit.deploy.realtime)."""
    if not rt["checked"]:
        t.add_row("real time", rt["why"])
        return
    how = "chosen" if rt["auto"] else "given"
    t.add_row("detector stride", f"{rt['stride_ms']} ms ({how}; one inference ESTIMATED {rt['inference_ms']:.0f} ms"
              + (f", {rt['inference_ms_cached']:.0f} ms with a perfect flash cache" if
                 rt["inference_ms_cached"] != rt["inference_ms"] else "") + ")")
    load = rt["load_cached"] if rt["relies_on_flash_cache"] else rt["load"]
    t.add_row("ESTIMATED load at board clock", f"{load * 100:.0f} % of {rt['clock_hz'] / 1e6:g} MHz (limit "
              f"{rt['max_load'] * 100:.0f} %, margin {(rt['max_load'] - load) * 100:.0f} pt; front end "
              f"{rt['frontend_load'] * 100:.0f} %; counted on {rt['counted_on']})"
              + ("" if rt["real_time"] else ": NOT real time"))
    if "layers_why" in rt:   # the codebook layers missed the limit: int8 layers counted too
        t.add_row("layers", f"{rt['layers']} ({rt['layers_why']})")
    if "warning" in rt:
        t.add_row("warning", rt["warning"])


def _memory_rows(t: Table, out: dict) -> None:
    """Stack and heap high-water marks (bare-metal firmware: stack painting) and, over a
    long stream, whether they grew after the first measurement."""
    if "memory" not in out:
        return
    m = out["memory"]
    t.add_row("stack / heap high-water mark", f"{m['stack']:,} B / {m['heap']:,} B")
    seq = out.get("memory_over_time", [])
    if len(seq) > 1:
        grew = [p for p in seq[1:] if (p["stack"], p["heap"]) != (seq[0]["stack"], seq[0]["heap"])]
        t.add_row("memory after the first 10 min", "unchanged" if not grew else
                  f"grew: {grew[-1]['stack']:,} B / {grew[-1]['heap']:,} B at {grew[-1]['ms']:,} ms")


def print_stream_eval(out: dict) -> None:
    """`edgekit stream-eval`: the stream, the detector's result at its threshold, per
    keyword, the DET curve's operating points, the first false alarms."""
    con = _console()
    st, det = out["stream"], out["detector"]
    t = Table(title=f"stream-eval: {out['model']} on {out['board']} ({out['frontend']} front end)",
              title_justify="left")
    t.add_column("item")
    t.add_column("value", justify="right")
    noise = "clean" if st["snr_db"] is None else f"noise at {st['snr_db']:g} dB SNR"
    t.add_row("stream", f"{st['duration_ms'] / 60000:.1f} min, seed {st['seed']}, {noise}, "
              f"{st['keywords']} keywords, {st['unknown_words']} unknown words, {st['inferences']:,} inferences")
    t.add_row("detector", ", ".join(f"{k} {v}" for k, v in det.items()))
    t.add_row("FRR (missed keywords)", f"{out['frr'] * 100:.1f} % ({out['missed']} of {out['keywords']})")
    t.add_row("false alarms", f"{out['false_alarms']} ({out['fa_per_hour']:.2f} per hour)")
    if out["latency_ms"]:
        lat = out["latency_ms"]
        t.add_row("latency after the clip starts", f"median {lat['median']:.0f} ms, mean {lat['mean']:.0f}, "
                  f"p90 {lat['p90']:.0f}, {lat['min']:.0f}-{lat['max']:.0f}")
    for fa, p in out["frr_at"].items():
        t.add_row(f"DET: FRR at <= {fa} FA/h", "not reached" if p is None else
                  f"{p['frr'] * 100:.1f} % (threshold {p['threshold']:g}, {p['false_alarms']} false alarms)")
    t.add_row("detections identical to the twin", "yes" if out.get("twin_identical") else "no")
    _memory_rows(t, out)
    if "instructions_per_second_audio" in out:
        t.add_row("instructions / s of audio", f"{out['instructions_per_second_audio']:,}")
    if "cycle_estimate" in out:
        e = out["cycle_estimate"]
        t.add_row("ESTIMATED real-time load", f"{e['realtime_load'] * 100:.0f} % ({e['ms_per_second_audio']:.1f} ms "
                  f"per s of audio at {e['clock_hz'] / 1e6:g} MHz)")
    if out.get("output"):
        t.add_row("stream wav, events, result", out["output"])
    if out.get("det_png"):
        t.add_row("DET curve", out["det_png"])
    t.add_row("time", f"{out['seconds']} s (firmware {out['firmware_seconds']} s)")
    con.print(t)
    k = Table(title="per keyword", title_justify="left")
    for col in ("keyword", "clips", "missed", "FRR"):
        k.add_column(col, justify="left" if col == "keyword" else "right")
    for lb, v in out["per_keyword"].items():
        k.add_row(lb, str(v["keywords"]), str(v["missed"]), f"{v['frr'] * 100:.1f} %")
    con.print(k)
    for fa in out["false_alarm_list"][:10]:
        con.print(f"false alarm: {fa['label']} {fa['score']:.3f} at {fa['ms']} ms (during {fa['near']})",
                  highlight=False)
    if len(out["false_alarm_list"]) > 10:
        con.print(f"... {len(out['false_alarm_list']) - 10} more (--json lists all)")


def print_sweep(out: dict) -> None:
    con = _console()
    score = out["score"]
    t = Table(title=f"sweep: {out['trials']} trials ({out['done']} run now, {out['skipped']} already in the "
              f"table, {out['failed']} failed); ms are ESTIMATES at the board clock", title_justify="left")
    for col in ("board", "model", "setting", "seed", "status", "weight ratio", "flash", "RAM", "instructions",
                "est. ms", "fits", score):
        t.add_column(col, overflow="fold")
    for r in out["rows"]:
        if r["status"] != "ok":
            t.add_row(r["board"], r["model"].rsplit("/", 1)[-1], r["setting"], str(r["seed"]), "failed",
                      r["error"] or "", "", "", "", "", "", "")
            continue
        s = r["accuracy"] if r["accuracy"] is not None else r["proxy_agreement"]
        t.add_row(r["board"], r["model"].rsplit("/", 1)[-1], r["setting"], str(r["seed"]), "ok",
                  f"{r['weight_ratio']:.2f}x", f"{r['flash_bytes']:,}", f"{r['ram_bytes']:,}",
                  f"{r['instructions']:,}", f"{r['est_ms']:.1f}", "yes" if r["fits"] else "no", f"{s * 100:.1f} %")
    con.print(t)
    for board, b in out["boards"].items():
        if b["best"] is None:
            con.print(f"{board}: no configuration fits (flash and RAM with edgekit.deploy.fit's headroom)")
            continue
        bb = b["best"]
        con.print(f"{board}: best that fits: {bb['setting']} seed {bb['seed']} ({len(b['pareto'])} on the Pareto front)\n"
                  f"  {bb['deploy_command']}")
    for board, path in out["plots"].items():
        con.print(f"plot: {path}")
    con.print(f"table: {out['output']}/results.sqlite (and results.csv)")
