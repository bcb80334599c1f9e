"""The plain-text EM table, with and without the majority-label column."""

from lolameme.evaluation.cli import format_table

REPORT = {
    "splits": {
        "test_with_global": {"n": 300, "em": 0.4, "loss": 1.25},
        "test_without_global": {"n": 300, "em": None, "loss": None},
    }
}


def test_table_without_baselines_has_four_columns() -> None:
    lines = format_table(REPORT).splitlines()
    assert lines[0].split() == ["split", "n", "EM", "loss"]
    assert lines[1].split() == ["test_with_global", "300", "0.400", "1.2500"]
    assert lines[2].split() == ["test_without_global", "300", "-", "-"]


def test_table_puts_each_splits_baseline_beside_its_em() -> None:
    lines = format_table(REPORT, {"test_with_global": 0.21}).splitlines()
    assert lines[0].split() == ["split", "n", "EM", "loss", "majority"]
    assert lines[1].split()[-1] == "0.210"
    assert lines[2].split()[-1] == "-"  # no baseline known for that split
    assert len({len(line) for line in lines}) == 1  # aligned columns
