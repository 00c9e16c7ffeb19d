"""The Python example of docs/EMBEDDING.md runs, against a fresh server, and
prints what the document says it prints."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "EMBEDDING.md"


def python_section() -> str:
    text = DOC.read_text()
    start = text.index("\n## Python\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else len(text)]


def test_embedding_python_example_runs_and_prints_what_the_doc_says(server, tmp_path):
    section = python_section()
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, "no ```python block in the Python section of docs/EMBEDDING.md"
    script = blocks[0]
    # The two values a reader fills in: this server and a fresh code.
    script, n = re.subn(r'^server = "[^"]*"', f'server = "{server.address}"', script, flags=re.M)
    assert n == 1, "the example no longer sets `server = \"...\"`"
    code = server.enrolment_code("dr-rivera")
    script, n = re.subn(r'^enrolment_code = "[^"]*"', f'enrolment_code = "{code}"', script,
                        flags=re.M)
    assert n == 1, "the example no longer sets `enrolment_code = \"...\"`"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]),
               TMPDIR=str(tmp_path))
    if os.environ.get("SOTTO_PYTHON_PRELOAD"):  # the sanitizer tree: python/CMakeLists.txt
        env["LD_PRELOAD"] = os.environ["SOTTO_PYTHON_PRELOAD"]
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    printed = re.search(r"It prints:\n\n```\n(.*?)```", section, flags=re.S)
    assert printed, "the section no longer shows what the example prints"
    assert run.stdout == printed.group(1)
