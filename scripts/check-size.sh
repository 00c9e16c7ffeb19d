#!/usr/bin/env bash
# Lists our C++ sources that break the size rule of issue 14: files over
# MAX_FILE_LINES (600) lines and functions over MAX_FUNCTION_LINES (80).
# Report only: exits 0 unless --strict is given (then 1 if anything is listed),
# so that CI can decide later whether to enforce it.
#
#   scripts/check-size.sh [--strict] [--max-file-lines N] [--max-function-lines N] [DIR...]
#
# DIRs default to the directories holding our code. Build trees (build*) and
# generated protobuf sources (*.pb.*) are skipped.
#
# Functions are found by a brace-matching heuristic, not a parser: a function
# starts at a line that ends with `{` at namespace or class level whose
# declaration is not a namespace/class/struct/union/enum/extern block nor an
# initializer (`= {`, so tables are not counted); it ends at the matching `}`.
# TEST/TEST_F bodies count as functions. Its length is counted from the `{`
# line to the `}` line, both included. Comments, string and character literals
# (raw strings too) and preprocessor lines are ignored when matching braces.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 - "$@" <<'PY'
import os
import re
import sys

args = sys.argv[1:]
strict = False
max_file, max_func = 600, 80
dirs = []
i = 0
while i < len(args):
    a = args[i]
    if a == "--strict":
        strict = True
    elif a in ("--max-file-lines", "--max-function-lines") and i + 1 < len(args):
        if a == "--max-file-lines":
            max_file = int(args[i + 1])
        else:
            max_func = int(args[i + 1])
        i += 1
    elif a in ("-h", "--help"):
        print("usage: scripts/check-size.sh [--strict] [--max-file-lines N] "
              "[--max-function-lines N] [DIR...]")
        sys.exit(0)
    elif a.startswith("-"):
        sys.exit("check-size: unknown option " + a)
    else:
        dirs.append(a)
    i += 1
if not dirs:
    dirs = ["client-lib", "server", "cli", "common", "bench", "tests"]


def sources():
    for top in dirs:
        if os.path.isfile(top):
            yield top
            continue
        for root, subdirs, files in os.walk(top):
            subdirs[:] = sorted(d for d in subdirs
                                if not d.startswith("build") and not d.startswith("."))
            for f in sorted(files):
                if (f.endswith(".cc") or f.endswith(".h")) and ".pb." not in f:
                    yield os.path.join(root, f)


def code_lines(text):
    """Yields each line with comments and literals blanked (braces kept)."""
    in_block = False   # inside /* */
    raw_end = None     # inside a raw string: its closing delimiter
    continued = False  # preprocessor line continued by a backslash
    for line in text.split("\n"):
        out = []
        j, n = 0, len(line)
        if raw_end is None and not in_block:
            stripped = line.lstrip()
            if continued or stripped.startswith("#"):
                continued = line.rstrip().endswith("\\")
                yield ""
                continue
        while j < n:
            if raw_end is not None:
                k = line.find(raw_end, j)
                if k < 0:
                    j = n
                    break
                j = k + len(raw_end)
                raw_end = None
                out.append('""')
                continue
            if in_block:
                k = line.find("*/", j)
                if k < 0:
                    j = n
                    break
                j = k + 2
                in_block = False
                continue
            c = line[j]
            if line.startswith("//", j):
                break
            if line.startswith("/*", j):
                in_block = True
                j += 2
                continue
            m = re.match(r'(?:u8|u|U|L)?R"([^()\\ ]{0,16})\(', line[j:])
            if m and (j == 0 or not (line[j - 1].isalnum() or line[j - 1] == "_")):
                raw_end = ")" + m.group(1) + '"'
                j += m.end()
                continue
            if c == '"' or (c == "'" and not (j > 0 and line[j - 1].isalnum())):
                # A string or character literal (a ' after a digit or letter
                # is a digit separator, as in 1'000).
                k = j + 1
                while k < n and line[k] != c:
                    k += 2 if line[k] == "\\" else 1
                out.append(c + c)
                j = k + 1
                continue
            out.append(c)
            j += 1
        yield "".join(out)


BLOCK = re.compile(r"^(?:template\s*<.*>\s*)?(?:class|struct|union|enum|namespace|extern)\b")
ACCESS = re.compile(r"^(?:(?:public|protected|private)\s*:\s*)+")


def classify(decl):
    """'scope' (namespace/class level continues inside), 'init' or 'function'."""
    decl = ACCESS.sub("", decl.strip())
    if BLOCK.match(decl):
        return "scope"
    flat = re.sub(r"operator\s*[^\s(]+\s*\(", "operator(", decl)
    depth = 0
    for c in flat:
        if c in "(<[":
            depth += 1
        elif c in ")>]":
            depth -= 1
        elif c == "=" and depth <= 0:
            return "init"
    if "(" not in flat:
        return "init"  # e.g. `Foo kTable[] {` or a brace-initialised variable
    return "function"


def name_of(decl):
    decl = ACCESS.sub("", " ".join(decl.split()))
    m = re.match(r"^(TEST(?:_F|_P)?)\s*\(\s*(\w+)\s*,\s*(\w+)", decl)
    if m:
        return "%s(%s, %s)" % m.groups()
    head = decl.split("(", 1)[0].split()
    return head[-1] if head else "?"


def functions(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    stack = []  # (kind, start_line, name); kind: scope, function, init, inline, inner
    decl = []
    found = []
    lines = list(code_lines(text))
    for lineno, line in enumerate(lines, 1):
        last = len(line.rstrip()) - 1
        at_scope = all(k == "scope" for k, _, _ in stack)
        for j, c in enumerate(line):
            if c == "{":
                if not at_scope:
                    stack.append(("inner", lineno, ""))
                elif j == last:
                    d = "".join(decl)
                    kind = classify(d)
                    stack.append((kind, lineno, name_of(d) if kind == "function" else ""))
                    decl = []
                    at_scope = kind == "scope"
                else:
                    # `{` inside a declaration (`int x{0};`, `f() { return 1; }`).
                    stack.append(("inline", lineno, ""))
                    decl.append(c)
                    at_scope = False
            elif c == "}":
                if not stack:
                    continue  # unbalanced (macros); stay at file level
                kind, start, name = stack.pop()
                if kind == "function":
                    found.append((start, name, lineno - start + 1))
                at_scope = all(k == "scope" for k, _, _ in stack)
                if kind == "inline" and line[j + 1:].strip() not in ("", ";"):
                    decl.append(c)  # e.g. `b_{x},` in an initializer list
                else:
                    decl = []  # a block or a one-line body ends the declaration
            elif at_scope:
                if c == ";":
                    decl = []
                else:
                    decl.append(c)
        if at_scope:
            decl.append(" ")
    return len(text.splitlines()), found


big_files, big_funcs = [], []
for path in sources():
    n, funcs = functions(path)
    if n > max_file:
        big_files.append((n, path))
    for start, name, length in funcs:
        if length > max_func:
            big_funcs.append((path, start, name, length))

print("Files over %d lines: %d" % (max_file, len(big_files)))
for n, path in sorted(big_files, key=lambda x: x[1]):
    print("  %s: %d lines" % (path, n))
print("Functions over %d lines: %d" % (max_func, len(big_funcs)))
for path, start, name, length in big_funcs:
    print("  %s:%d: %s: %d lines" % (path, start, name, length))
sys.exit(1 if strict and (big_files or big_funcs) else 0)
PY
