"""README.md's performance summary is the block bench/bench.py --readme makes from bench/latest.json."""
import json

import benchpath
import pytest
import targets

README = benchpath.REPO / "README.md"
LATEST = benchpath.BENCH / "latest.json"


def test_readme_summary_is_generated_from_latest_json():
    """Fails when bench/latest.json was re-measured (or the README block edited by hand) without
    `python bench/bench.py --readme`."""
    expected = targets.readme_block(json.loads(LATEST.read_text()))
    assert targets.readme_block_of(README.read_text()) == expected


def test_latest_json_carries_every_target():
    rows = json.loads(LATEST.read_text())["targets"]
    assert set(rows) == set(targets.TARGETS)
    for row in rows.values():
        assert {"value", "reference", "ratio", "goal", "met"} <= set(row)


def test_block_replacement_keeps_the_rest_of_the_readme():
    readme = "# title\n\ntext before\n%s\nold summary\n%s\ntext after\n" % (targets.BEGIN, targets.END)
    new = targets.readme_with_block(readme, "%s\nnew summary\n%s" % (targets.BEGIN, targets.END))
    assert new == "# title\n\ntext before\n%s\nnew summary\n%s\ntext after\n" % (targets.BEGIN, targets.END)


@pytest.mark.parametrize("readme", ["# title\n\nno markers\n", "%s\nonly the end\n" % targets.END,
                                    "%s\nend before begin\n%s\n" % (targets.END, targets.BEGIN)])
def test_readme_without_its_markers_is_a_clear_error(readme):
    with pytest.raises(ValueError, match="README.md has no <!-- bench:begin --> ... <!-- bench:end --> block"):
        targets.readme_with_block(readme, targets.BEGIN + targets.END)
