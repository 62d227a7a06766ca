"""bench/faults_bench.py's page, without the sandbox: the section it writes and how it replaces its own."""

from bench.faults_bench import SECTION, render, with_section
from deploy.sandbox.fault_proxy import Faults


def test_the_section_says_the_ratio_against_the_target_and_what_was_retried():
    rates = Faults(slow_down=0.05, reset=0.03)
    seconds = {"direct": [7.0, 7.2, 7.4], "proxy, no faults": [8.0, 8.1, 8.3],
               f"proxy, {rates.text()}": [9.0, 9.2, 9.9]}
    text = render("photos: 4,000 files, 163 MB", rates, seconds, {"503 SlowDown": 40, "ConnectionResetError": 20},
                  {"requests": 26000, "503": 1300, "reset": 780}, [], 3, "invoke bench --faults", 120)
    assert text.startswith(SECTION + "\n")
    assert "| proxy, 503:0.05,reset:0.03 | 9.20 (9.00-9.90) | 1.14x |" in text
    assert "**met** (1.14x)" in text
    assert "retried by the tool and counted: 40 × 503 SlowDown, 20 × connection reset" in text
    slow = render("t", rates, {**seconds, f"proxy, {rates.text()}": [12.0]}, {}, {}, [], 1, "c", 1)
    assert "**MISSED** (1.48x)" in slow


def test_the_section_replaces_its_own_and_leaves_the_rest():
    page = "# Benchmark results\n\n## Uploads\n\nA\n\n## Store faults\n\nold\n\n## Passes at scale\n\nB\n"
    assert with_section(page, "## Store faults\n\nnew\n") == (
        "# Benchmark results\n\n## Uploads\n\nA\n\n## Store faults\n\nnew\n\n## Passes at scale\n\nB\n")
    assert with_section("# R\n\n## Uploads\n", "## Store faults\n\nnew\n") == \
        "# R\n\n## Uploads\n\n## Store faults\n\nnew\n"
