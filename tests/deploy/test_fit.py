"""Fit by construction (edgekit/deploy/fit.py): the codebook size chosen so that the
firmware fits the board's flash and RAM with a quarter of each left for the application."""
from __future__ import annotations

import json

import pytest

from edgekit.boards import get_board
from edgekit.deploy import fit
from edgekit.errors import InputError
from edgekit.resources import BOARDS_DIR
from tests.deploy.test_deploy_cli import SAMPLES, edgekit

FLOAT = str(SAMPLES / "kws_ref_model.keras")
QUICK = ["--samples", "8", "--iters", "20", "--refine-steps", "0", "--no-build", "--no-verify"]


def sizes(*flash: int, ram: int = 50_000) -> dict:
    return {b: {"flash_bytes": f, "ram_bytes": ram} for b, f in zip(fit.BINS, flash)}


def board(flash: int, ram: int):
    import dataclasses

    return dataclasses.replace(get_board("mps2-an386"), name="small", flash_bytes=flash, ram_bytes=ram)


def test_the_default_is_kept_when_it_fits_else_the_widest_that_fits():
    s = sizes(56_000, 53_000, 50_000, 48_000)            # 16, 8, 4, 2 codes
    assert fit.choose_bins(s, board(80_000, 80_000), 8, widest=False)[0] == 8
    assert fit.choose_bins(s, board(80_000, 80_000), 8, widest=True)[0] == 16
    bins, rep = fit.choose_bins(s, board(68_000, 80_000), 8, widest=False)   # budget 51,000 B flash
    assert bins == 4 and rep["changed"] and rep["budget"]["flash_bytes"] == 51_000


def test_nothing_fits_is_refused_with_the_bytes_needed():
    with pytest.raises(InputError) as e:
        fit.choose_bins(sizes(56_000, 53_000, 50_000, 48_000), board(60_000, 80_000), 8, widest=False)
    assert "even with 1-bit codebooks" in str(e.value) and "flash 48,000 B of 45,000 B" in str(e.value)
    with pytest.raises(InputError, match="RAM 50,000 B of 30,000 B"):          # RAM: no codebook helps
        fit.choose_bins(sizes(56_000, 53_000, 50_000, 48_000), board(200_000, 40_000), 8, widest=False)


def _small_board(tmp_path, flash: int, ram: int):
    text = (BOARDS_DIR / "mps2-an386.toml").read_text()
    text = text.replace("flash_bytes = 4_194_304", f"flash_bytes = {flash}").replace(
        "ram_bytes = 4_194_304", f"ram_bytes = {ram}").replace('name = "mps2-an386"', 'name = "small"')
    assert f"flash_bytes = {flash}" in text and f"ram_bytes = {ram}" in text
    (tmp_path / "small.toml").write_text(text)
    return tmp_path / "small.toml"


def test_deploy_narrows_the_codebooks_to_fit_and_refuses_what_cannot(tmp_path):
    """Flash 70,000 B leaves 52,500 B for the firmware: deploy's 8 codes need ~53.7 KB, 4 ~50.9 KB."""
    out = tmp_path / "p"
    r = edgekit("deploy", FLOAT, "--board", _small_board(tmp_path, 70_000, 80_000), "-o", out, *QUICK, "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["fit"]["bins"] == 4 and res["fit"]["changed"]
    assert {b[-2:] for b in res["compression"]["layers"].split()} <= {"1b", "2b"}   # 'name:2b ...' 
    assert res["estimate"]["flash_bytes"] <= 52_500
    r = edgekit("deploy", FLOAT, "--board", _small_board(tmp_path, 60_000, 80_000), "-o", tmp_path / "q", *QUICK)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "even with 1-bit codebooks" in r.stderr, r.stderr
    assert not (tmp_path / "q").exists()


@pytest.fixture(scope="module")
def wide_dscnn(tmp_path_factory):
    """The sample's DS-CNN 4.25x wider (272 channels): int8 weights over 2x the 150 KB
    board below. Random weights, BatchNorm statistics set to plausible
    values (synthesis matches them)."""
    import shutil
    import sys

    import torch

    sys.path.insert(0, str(SAMPLES))
    from dscnn import DSCNN, example_input

    torch.manual_seed(0)
    m = DSCNN(c=272).eval()
    with torch.no_grad():
        for bn in (x for x in m.modules() if isinstance(x, torch.nn.BatchNorm2d)):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
    d = tmp_path_factory.mktemp("wide")
    torch.export.save(torch.export.export(m, (example_input(),)), str(d / "wide_dscnn.pt2"))
    shutil.copy(SAMPLES / "kws_ref_model.labels.txt", d / "wide_dscnn.labels.txt")
    return d / "wide_dscnn.pt2"


def test_int8_weights_twice_the_flash_are_compressed_to_fit_or_refused(tmp_path, wide_dscnn):
    r = edgekit("inspect", wide_dscnn, "--json")
    assert r.returncode == 0, r.stderr
    weights = json.loads(r.stdout)["totals"]["params"]
    assert weights >= 2 * 150_000                           # int8 weights alone: 2x the board's flash
    out = tmp_path / "p"
    r = edgekit("deploy", wide_dscnn, "--board", _small_board(tmp_path, 150_000, 240_000), "-o", out, "--fit",
                *QUICK, "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["fit"]["bins"] == 2 and res["estimate"]["flash_bytes"] <= 112_500    # 1-bit codebooks
    r = edgekit("deploy", wide_dscnn, "--board", _small_board(tmp_path, 120_000, 240_000), "-o", tmp_path / "q",
                "--fit", *QUICK)
    assert r.returncode == 2 and "even with 1-bit codebooks" in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert not (tmp_path / "q").exists()
