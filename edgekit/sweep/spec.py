"""A sweep file (TOML) -> the list of trials, checked before any trial starts.

    models = ["kws_ref_model.keras"]       # paths relative to the sweep file
    boards = ["mps2-an386", "nano33ble"]   # `edgekit boards`
    seeds = [0, 1]                         # synthetic set and compression seed

    [synth]                                # `edgekit synth` options, for every trial
    samples = 64
    iters = 500

    [[compress]]                           # one table per setting; a list value expands
    method = "kmeans"                      # int8 | kmeans | binquant
    bins = [4, 8]
    refine_steps = 0

    [[compress]]
    method = "int8"                        # data-free int8, no weight compression

The grid is models x boards x compress settings x seeds. Instead of the grid, a list
of `[[trial]]` tables, each with model, board, seed and the compress keys.

A trial is identified by its `key`: a hash of the model's bytes and every setting, so
a sweep rerun on the same file skips what is already in its results table, and a
changed model file makes new trials.
"""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
import tomllib
from dataclasses import dataclass

from edgekit.errors import InputError
from edgekit.synth import SynthConfig

METHODS = ("int8", "kmeans", "binquant")
SYNTH_KEYS = ("samples", "iters", "lr", "label_weight", "tv_weight", "l2_weight")
COMPRESS_KEYS = ("method", "bins", "target_ratio", "max_drop", "refine_steps", "gptq")
TOP_KEYS = ("models", "boards", "seeds", "synth", "compress", "trial")


@dataclass(frozen=True)
class Trial:
    """One configuration: what `edgekit compress` (or `quantize`) + `codegen` + `profile`
    would be run with alone."""
    model: str                       # as written in the sweep file, resolved against its folder
    model_sha256: str
    board: str
    method: str
    seed: int
    synth: SynthConfig
    bins: int | None = None          # kmeans
    target_ratio: float | None = None    # binquant (else max_drop)
    max_drop: float | None = None
    refine_steps: int = 2000
    gptq: bool = True

    @property
    def key(self) -> str:
        return _digest(dataclasses.asdict(self))

    @property
    def compress_key(self) -> str:
        """The same for every board: the compressed model does not depend on the board."""
        return _digest({k: v for k, v in dataclasses.asdict(self).items() if k != "board"})

    @property
    def setting(self) -> str:
        """The compression setting in a few characters (for tables)."""
        if self.method == "kmeans":
            return f"kmeans/{self.bins}"
        if self.method == "binquant":
            return f"binquant/{self.target_ratio:g}x" if self.target_ratio else f"binquant/drop{self.max_drop:g}"
        return "int8"

    def compress_config(self):
        from edgekit.compress import CompressConfig

        return CompressConfig(method=self.method, seed=self.seed, gptq=self.gptq,
                              refine_steps=self.refine_steps, target_ratio=self.target_ratio,
                              bins={"*": self.bins} if self.method == "kmeans" else {},
                              **({"max_drop": self.max_drop} if self.max_drop is not None else {}))

    def synth_config(self) -> SynthConfig:
        return dataclasses.replace(self.synth, seed=self.seed)


def _digest(fields: dict) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Sweep:
    trials: tuple[Trial, ...]
    models: dict            # model path -> its bytes (shipped to the workers once)
    input_sizes: dict       # model path -> values in its input


def _list(v, what: str) -> list:
    v = v if isinstance(v, list) else [v]
    if not v:
        raise InputError(f"sweep: '{what}' is empty")
    return v


def _check_keys(table: dict, allowed: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise InputError(f"sweep: unknown key '{unknown[0]}' in {where} (known: {', '.join(allowed)})")


def _synth(table: dict) -> SynthConfig:
    _check_keys(table, SYNTH_KEYS, "[synth]")
    kw = {("n" if k == "samples" else k): v for k, v in table.items()}
    if kw.get("n", 1) < 1 or kw.get("iters", 1) < 1:
        raise InputError("sweep: [synth] samples and iters must be at least 1")
    return SynthConfig(**kw)


def _settings(table: dict, where: str) -> list[dict]:
    """A [[compress]] table with list values -> one dict per combination."""
    _check_keys(table, COMPRESS_KEYS, where)
    keys = sorted(table)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(_list(table[k], k) for k in keys))]


def _check_setting(s: dict, where: str) -> None:
    """Combinations `edgekit compress` would refuse, refused here before any trial runs."""
    method = s.get("method")
    if method not in METHODS:
        raise InputError(f"sweep: {where}: method must be one of {', '.join(METHODS)}, not {method!r}")
    if method != "kmeans" and "bins" in s:
        raise InputError(f"sweep: {where}: 'bins' is for method kmeans, not {method}")
    if method == "kmeans" and not (isinstance(s.get("bins"), int) and 2 <= s["bins"] <= 16):
        raise InputError(f"sweep: {where}: kmeans needs bins between 2 and 16")
    if method != "binquant" and ("target_ratio" in s or "max_drop" in s):
        raise InputError(f"sweep: {where}: 'target_ratio' / 'max_drop' are for method binquant, not {method}")
    if "target_ratio" in s and "max_drop" in s:
        raise InputError(f"sweep: {where}: give target_ratio or max_drop, not both")
    if s.get("target_ratio", 1) <= 0 or s.get("max_drop", 0) < 0 or s.get("refine_steps", 0) < 0:
        raise InputError(f"sweep: {where}: target_ratio must be > 0, max_drop and refine_steps >= 0")
    if method == "int8" and ("refine_steps" in s or "gptq" in s):
        raise InputError(f"sweep: {where}: refine_steps / gptq are weight-compression settings, not for int8")


def _resolve(path: str, base: str) -> str:
    return path if os.path.isabs(path) else os.path.normpath(os.path.join(base, path))


def _entries(doc: dict) -> list[dict]:
    """The trials as plain dicts (model, board, seed + a compress setting)."""
    if "trial" in doc:
        if any(k in doc for k in ("models", "boards", "seeds", "compress")):
            raise InputError("sweep: give either [[trial]] tables or the grid (models, boards, seeds, "
                             "[[compress]]), not both")
        out = []
        for i, t in enumerate(_list(doc["trial"], "trial")):
            _check_keys(t, ("model", "board", "seed", *COMPRESS_KEYS), f"[[trial]] #{i + 1}")
            for k in ("model", "board"):
                if k not in t:
                    raise InputError(f"sweep: [[trial]] #{i + 1} has no '{k}'")
            out.append({"seed": 0, **t})
        return out
    for k in ("models", "boards", "compress"):
        if k not in doc:
            raise InputError(f"sweep: the file has no '{k}' (the grid needs models, boards and [[compress]])")
    settings = [s for i, t in enumerate(_list(doc["compress"], "compress"))
                for s in _settings(t, f"[[compress]] #{i + 1}")]
    return [{"model": m, "board": b, "seed": seed, **s}
            for m in _list(doc["models"], "models") for b in _list(doc["boards"], "boards")
            for s in settings for seed in _list(doc.get("seeds", [0]), "seeds")]


def read(path: str) -> dict:
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except FileNotFoundError:
        raise InputError(f"{path}: no such sweep file") from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: not a valid TOML sweep file ({e})") from None
    _check_keys(doc, TOP_KEYS, path)
    return doc


def _read_model(path: str) -> bytes:
    from edgekit.importers import _read

    return _read(path)


def load(path: str) -> Sweep:
    """Parse and check a sweep file: every trial's settings, board and model are checked
    (models imported once) before any trial starts. Raises InputError / ModelLoadError."""
    from edgekit.boards import get_board

    doc = read(path)
    synth = _synth(doc.get("synth", {}))
    base = os.path.dirname(os.path.abspath(path))
    trials, models = [], {}
    for i, e in enumerate(_entries(doc)):
        where = f"trial {i + 1} ({e['model']}, {e['board']})"
        setting = {k: e[k] for k in COMPRESS_KEYS if k in e}
        _check_setting(setting, where)
        if not isinstance(e["seed"], int) or e["seed"] < 0:
            raise InputError(f"sweep: {where}: seed must be an integer >= 0")
        check_board(get_board(e["board"]))
        model = _resolve(e["model"], base)
        if model not in models:
            models[model] = _read_model(model)
        trials.append(Trial(model=model, model_sha256=hashlib.sha256(models[model]).hexdigest(),
                            board=e["board"], seed=e["seed"], synth=synth, **setting))
    sizes = {model: check_model(model) for model in models}
    keys = [t.key for t in trials]
    if len(set(keys)) != len(keys):
        raise InputError("sweep: the same trial is listed twice (identical model, board, setting and seed)")
    return Sweep(tuple(trials), models, sizes)


def check_board(board) -> None:
    """A trial needs a microcontroller whose code QEMU can count (the board itself or an
    emulated twin of its core)."""
    from edgekit.deploy.realtime import probe_board

    if board.is_host:
        raise InputError(f"sweep: board '{board.name}' is this machine, not a microcontroller")
    if probe_board(board) is None:
        raise InputError(f"sweep: board '{board.name}': no emulated board runs its core ({board.core}), "
                         "so its instructions cannot be counted")


def check_model(path: str) -> int:
    """A float model with BatchNorm layers (the synthetic set comes from their statistics);
    -> the number of values in its input."""
    from edgekit.importers import load_model
    from edgekit.ir.summary import is_quantized

    graph = load_model(path)
    if is_quantized(graph):
        raise InputError(f"sweep: {path} is already int8; a sweep compresses float models")
    if not any(n.op == "BatchNorm" for n in graph.nodes):
        raise InputError(f"sweep: {path} has no BatchNorm layer to synthesize calibration inputs from")
    return graph.tensor(graph.inputs[0]).size


def check_inputs(sweep: Sweep, x) -> None:
    """Labelled inputs (`--eval`) the size of every model's input."""
    for model, size in sweep.input_sizes.items():
        if int(x[0].size) != size:
            raise InputError(f"--eval inputs hold {x[0].size} values each; {model} takes {size}")
