"""``lolameme models``: the preset table, one spec in detail, one-line errors."""

from __future__ import annotations

import json

import pytest

from lolameme.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(["models", *args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_paper_table_prints_the_paper_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--scale", "paper", "--vocab", "50257")
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert "124.4M" in lines["gpt2"] and "152.5M" in lines["hyena"]
    assert set(lines) == {"gpt2", "hyena", "base_conv", *(f"thex-{n}" for n in range(18))}


def test_json_lists_every_preset_with_counts(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--scale", "tiny", "--vocab", "300", "--max-seq-len", "64", "--json")
    assert code == 0
    rows = {row["spec"]: row for row in json.loads(out)}
    assert rows["gpt2"]["learned_positions"] and not rows["thex-4"]["learned_positions"]
    assert rows["gpt2"]["state_size"] == 12 * 2 * 64 * 64
    assert rows["thex-4"]["pattern"] == "hyena@72*4,attention@64,hyena@72*13"
    assert all(row["parameters"] > 0 for row in rows.values())


def test_spec_is_described_layer_by_layer(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--spec", "thex-17", "--scale", "smoke", "--vocab", "50", "--json")
    assert code == 0
    info = json.loads(out)
    assert [row["mixer"] for row in info["layer_rows"]] == ["hyena"] * 17 + ["attention"]
    assert info["layer_rows"][17]["adapter"] == "18->16" and info["out_adapter"] == "16->18"
    code, out, _ = run(capsys, "--spec", "hyena*2,attention", "--scale", "smoke")
    assert code == 0 and "hyena*2,attention at scale smoke" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--spec", "thex-18"], "thex-N needs 0 <= N <= 17"),
        (["--spec", "foo*2"], "unknown mixer 'foo'"),
        (["--scale", "huge"], "unknown scale 'huge'"),
    ],
)
def test_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_cli_import_does_not_import_torch() -> None:
    """``lolameme --help`` stays fast: torch is imported inside the command only."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import lolameme

    src = str(Path(lolameme.__file__).resolve().parents[1])  # this checkout's src/
    code = "import sys, lolameme.cli; print('torch' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": src}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert result.stdout.strip() == "False"
