#!/usr/bin/env python3
"""Runs the walkthroughs of README.md and docs/*.md as a newcomer would; fails when one breaks.

A walkthrough is a ```sh block right after a line `<!-- walkthrough: NAME -->` (invisible on
GitHub). The pages are read in one fixed order, PAGES below: README.md first, then the docs
pages in the order of the README's table of contents, as a reader follows them. All the blocks
run in that order in ONE bash process (`set -euo pipefail`), as a reader copying them one after
another into one terminal would, so a block may use what an earlier block (of any page)
created: in a fresh temporary folder, with the folder of the `vouchers` binary first on PATH, a
fresh SQLite database (VOUCHERS_DATABASE_URL=sqlite://<tmp>/vouchers.db, every other VOUCHERS_*
variable removed) and a free port in place of every `127.0.0.1:8000`. Any process the blocks
start (`vouchers serve &`) is stopped at the end, also when a command fails.

A command followed directly by `#` lines that start with `{` or `[` (optionally with an HTTP
status before or after the JSON: `# 409 {...}`, `# {...} 409`) documents its answer. The answer
may be abridged with `...` anywhere a key or a value could be. Its stdout is captured and must be
JSON of the same shape: every key shown must be there, at the same nesting, and these values must
be equal: booleans, nulls, numbers (except ids), amounts like "50.00", the status, and the
strings of a few keys whose value is the point (`error.code`, `reason`, `voucher_type`,
`order_ref`, ...). Codes, tokens, times, cursors and messages vary and are compared by type only.

A command that fails, or an answer that does not match, fails the script with the file and line
(`docs/api.md:123`). In every page it reads, a ```sh block that shows a JSON answer but is not
marked as a walkthrough fails it too. So does a page missing from the list, a docs/*.md file
that is not in it (a new page must be added to PAGES, in reading order, so that its blocks are
not silently skipped), and a page of the list that README.md does not link to.

Usage: scripts/readme-walkthrough.py [--bin-dir DIR] [--root DIR] [--list] [--keep] [--verbose]
  --bin-dir  the folder holding `vouchers` (env VOUCHERS_BIN_DIR; default target/debug)
  --root     the folder holding README.md and docs/ (default: this repository)
  --list     check the pages and print each walkthrough block (file:line, name, commands and
             answers) in run order, without running anything (needs no binary)
Needs bash, jq and curl (installed with apt-get when missing and running as root).
"""
import argparse
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARK = re.compile(r"^<!--\s*walkthrough:\s*([A-Za-z0-9_.-]+)\s*-->\s*$")
FENCE_SH = re.compile(r"^```(sh|bash|shell)\s*$")
ANSWER_START = re.compile(r"^#\s*(\d{3}\s+)?[\[{]")
PORT_IN_DOCS = "127.0.0.1:8000"

# The pages, in the order their walkthrough blocks run: README.md, then the docs pages in the
# order of the README's table of contents. Every docs/*.md file must be listed here.
PAGES = [
    "README.md",
    "docs/cli.md",
    "docs/codes.md",
    "docs/email.md",
    "docs/webhooks.md",
    "docs/allotments.md",
    "docs/api.md",
    "docs/console.md",
    "docs/configuration.md",
    "docs/operations.md",
    "docs/rules.md",
    "docs/architecture.md",
    "docs/benchmarks.md",
    "docs/testing.md",
]

# Strings compared exactly (by the key that holds them); `code` only inside `error`.
EXACT_STRING_KEYS = {
    "reason", "voucher_type", "scope", "order_ref", "status", "ticket_type", "addon",
    "prefix", "slug", "conference", "timezone", "alphabet",
}
AMOUNT = re.compile(r"^-?\d+\.\d{2}$")


class Failure(Exception):
    pass


# ------------------------------------------------------------------------------ page parsing

class Block:
    def __init__(self, name, path, fence_no, body):
        self.name = name
        self.path = path  # the page, relative to the root: "README.md", "docs/api.md"
        self.fence_no = fence_no  # 1-based line of its opening fence
        self.body = body  # [(line_no, text), ...]
        self.commands = []

    def at(self, line_no=None):
        return f"{self.path}:{self.fence_no if line_no is None else line_no}"


class Command:
    def __init__(self, block, line_no, lines):
        self.block = block
        self.line_no = line_no  # 1-based line of its first line in its page
        self.lines = lines
        self.answer = None  # (line_no, text) of the documented answer
        self.index = None  # its answer's file number, when it has an answer
        self.seq = None  # its number among all commands, in run order

    def at(self, line_no=None):
        return self.block.at(self.line_no if line_no is None else line_no)


def check_pages(root):
    """The pages of PAGES, checked: each exists, README.md links each docs page, and no
    docs/*.md file is left out of the list."""
    missing = [page for page in PAGES if not os.path.isfile(os.path.join(root, page))]
    if missing:
        raise Failure(f"{', '.join(missing)}: listed in PAGES ({os.path.basename(__file__)}) but "
                      f"missing under {root}; remove it from PAGES or restore the page")
    docs = os.path.join(root, "docs")
    found = sorted(f"docs/{name}" for name in (os.listdir(docs) if os.path.isdir(docs) else [])
                   if name.endswith(".md") and os.path.isfile(os.path.join(docs, name)))
    unlisted = [page for page in found if page not in PAGES]
    if unlisted:
        raise Failure(f"{', '.join(unlisted)}: not in PAGES ({os.path.basename(__file__)}), so its "
                      "walkthrough blocks would be skipped; add it to PAGES at its place in the "
                      "README's table of contents")
    with open(os.path.join(root, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    unlinked = [page for page in PAGES[1:] if f"]({page}" not in readme]
    if unlinked:
        raise Failure(f"README.md: no link to {', '.join(unlinked)}; every page of PAGES belongs in "
                      "the README's table of contents")
    return PAGES


def extract_blocks(path, page_lines):
    """[Block] of one page in page order; checks unmarked blocks. `path` names the page in
    messages."""
    blocks, i, pending = [], 0, None
    while i < len(page_lines):
        line = page_lines[i]
        m = MARK.match(line.strip())
        if m:
            pending = (m.group(1), i + 1)
            i += 1
            continue
        if line.startswith("```"):
            fence_no = i + 1
            body = []
            i += 1
            while i < len(page_lines) and not page_lines[i].startswith("```"):
                body.append((i + 1, page_lines[i]))
                i += 1
            if i >= len(page_lines):
                raise Failure(f"{path}:{fence_no}: this code block is never closed")
            if pending:
                name, mark_no = pending
                if not FENCE_SH.match(line) or mark_no != fence_no - 1:
                    raise Failure(f"{path}:{mark_no}: `<!-- walkthrough: {name} -->` must be the "
                                  "line right before a ```sh fence")
                blocks.append(Block(name, path, fence_no, body))
            elif FENCE_SH.match(line) and any(ANSWER_START.match(t) for _, t in body):
                raise Failure(f"{path}:{fence_no}: this block shows answers (`# {{...}}`) but is not "
                              "run by the walkthrough test: put `<!-- walkthrough: NAME -->` on the line "
                              "before its fence (and make it runnable in the order of PAGES)")
            pending = None
        elif line.strip() and pending:
            raise Failure(f"{path}:{pending[1]}: `<!-- walkthrough: {pending[0]} -->` must be the "
                          "line right before a ```sh fence")
        i += 1
    return blocks


def read_pages(root):
    """Every walkthrough block of the pages, in run order, each split into its commands."""
    blocks = []
    for page in check_pages(root):
        with open(os.path.join(root, page), encoding="utf-8") as f:
            blocks.extend(extract_blocks(page, f.read().split("\n")))
    seen = {}
    for b in blocks:
        if b.name in seen:
            raise Failure(f"{b.at()}: walkthrough name {b.name!r} is used twice (first at "
                          f"{seen[b.name].at()})")
        seen[b.name] = b
    for b in blocks:
        b.commands = split_commands(b)
    return blocks


class ShellState:
    """Just enough of bash's lexer to tell where a command ends (quotes, `\\` continuations,
    parentheses, comments)."""

    def __init__(self):
        self.single = self.double = self.continued = False
        self.depth = 0

    def feed(self, line):
        self.continued = False
        self.comment = None
        i, n = 0, len(line)
        while i < n:
            c = line[i]
            if self.single:
                if c == "'":
                    self.single = False
            elif self.double:
                if c == "\\":
                    if i == n - 1:
                        self.continued = True
                    i += 1
                elif c == '"':
                    self.double = False
            else:
                if c == "\\":
                    if i == n - 1:
                        self.continued = True
                    i += 1
                elif c == "'":
                    self.single = True
                elif c == '"':
                    self.double = True
                elif c == "#" and (i == 0 or line[i - 1] in " \t;|&()"):
                    self.comment = line[i:]
                    break
                elif c == "(":
                    self.depth += 1
                elif c == ")":
                    self.depth -= 1
            i += 1

    def at_boundary(self):
        return not (self.single or self.double or self.continued or self.depth > 0)


def brackets_balanced(text):
    depth, in_str, esc = 0, False, False
    for c in text:
        if in_str:
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c in "{[":
            depth += 1
        elif c in "}]":
            depth -= 1
    return depth <= 0 and not in_str


def split_commands(block):
    """Commands of a block, each with the answer documented right after it, if any."""
    name, body = block.name, block.body
    commands, i, last = [], 0, None
    while i < len(body):
        no, text = body[i]
        stripped = text.strip()
        if not stripped:
            last = None
            i += 1
            continue
        if stripped.startswith("#"):
            if ANSWER_START.match(stripped):
                parts, start_no = [], no
                while True:
                    parts.append(stripped[1:].strip())
                    i += 1
                    if brackets_balanced(" ".join(parts)):
                        break
                    if i >= len(body) or not body[i][1].strip().startswith("#"):
                        raise Failure(f"{block.at(start_no)} ({name}): this documented answer never "
                                      "closes its brackets")
                    stripped = body[i][1].strip()
                if last is None:
                    raise Failure(f"{block.at(start_no)} ({name}): an answer must come right after "
                                  "the command it belongs to")
                if last.answer is not None:
                    raise Failure(f"{block.at(start_no)} ({name}): a second answer for the command at "
                                  f"line {last.line_no}")
                last.answer = (start_no, " ".join(parts))
                continue
            i += 1  # a prose comment: an answer must follow its command directly
            last = None
            continue
        state, lines, start_no = ShellState(), [], no
        while True:
            lines.append(text)
            state.feed(text)
            if state.comment and ANSWER_START.match(state.comment.strip()):
                raise Failure(f"{block.at(no)} ({name}): an answer at the end of a command line is not "
                              "checked; put it on its own `# ...` line right after the command")
            i += 1
            if state.at_boundary():
                break
            if i >= len(body):
                raise Failure(f"{block.at(start_no)} ({name}): this command does not end inside its "
                              "block (an open quote, parenthesis or a trailing `\\`)")
            no, text = body[i]
        last = Command(block, start_no, lines)
        commands.append(last)
    return commands


# ---------------------------------------------------------------------- documented answers

ELLIPSIS = object()  # "..." in a documented answer: anything (more keys, elements, a value)
TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<ell>(?:\.\.\.|\u2026)[^,{}\[\]"]*)
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<lit>true|false|null)
  | (?P<punct>[{}\[\]:,])
""", re.VERBOSE)


def tokenize(text):
    pos, out = 0, []
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m:
            raise Failure(f"cannot read the documented answer near `{text[pos:pos + 30]}`")
        pos = m.end()
        kind = m.lastgroup
        if kind == "ws":
            continue
        if kind == "ell":
            out.append(("ell", ELLIPSIS))
        elif kind == "str":
            out.append(("val", json.loads(m.group())))
        elif kind == "num":
            out.append(("val", json.loads(m.group())))
        elif kind == "lit":
            out.append(("val", {"true": True, "false": False, "null": None}[m.group()]))
        else:
            out.append(("p", m.group()))
    return out


def parse_abridged(text):
    toks = tokenize(text)
    pos = 0

    def peek():
        return toks[pos] if pos < len(toks) else ("end", None)

    def take():
        nonlocal pos
        t = peek()
        pos += 1
        return t

    def value():
        kind, v = take()
        if kind == "ell" or kind == "val":
            return v
        if (kind, v) == ("p", "{"):
            obj = {}
            while True:
                kind, v = take()
                if kind == "ell" or (kind, v) == ("p", ","):
                    continue
                if (kind, v) == ("p", "}"):
                    return obj
                if kind == "val" and isinstance(v, str) and peek() == ("p", ":"):
                    take()
                    obj[v] = value()
                    continue
                raise Failure(f"cannot read the documented answer: unexpected `{v}` in an object")
        if (kind, v) == ("p", "["):
            arr = []
            while True:
                kind, v = peek()
                if kind == "ell" or (kind, v) == ("p", ","):
                    take()
                    continue
                if (kind, v) == ("p", "]"):
                    take()
                    return arr
                arr.append(value())
        raise Failure(f"cannot read the documented answer: unexpected `{v}`")

    result = value()
    if pos != len(toks):
        raise Failure("cannot read the documented answer: text after its end")
    return result


def split_status(text):
    """(status or None, json text) of a documented answer or of an actual output."""
    text = text.strip()
    m = re.match(r"^(\d{3})\s+([\[{].*)$", text, re.S)
    if m:
        return int(m.group(1)), m.group(2)
    m = re.match(r"^(.*[\]}])\s+(\d{3})$", text, re.S)
    if m:
        return int(m.group(2)), m.group(1)
    return None, text


def kind_of(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def compare(doc, actual, path, key, problems):
    where = path or "the answer"
    if doc is ELLIPSIS:
        return
    if isinstance(doc, dict):
        if not isinstance(actual, dict):
            problems.append(f"{where}: documented an object, got {kind_of(actual)}")
            return
        for k, v in doc.items():
            sub = f"{path}.{k}" if path else k
            if k not in actual:
                problems.append(f"{sub}: documented, missing from the actual answer")
            else:
                compare(v, actual[k], sub, k, problems)
        return
    if isinstance(doc, list):
        if not isinstance(actual, list):
            problems.append(f"{where}: documented an array, got {kind_of(actual)}")
            return
        if len(actual) < len(doc):
            problems.append(f"{where}: documented {len(doc)} elements at least, got {len(actual)}")
        for i, (d, a) in enumerate(zip(doc, actual)):
            compare(d, a, f"{path}[{i}]", key, problems)
        return
    if kind_of(doc) != kind_of(actual):
        problems.append(f"{where}: documented {json.dumps(doc)} ({kind_of(doc)}), got "
                        f"{json.dumps(actual)[:80]} ({kind_of(actual)})")
        return
    exact = False
    if doc is None or isinstance(doc, bool):
        exact = True
    elif isinstance(doc, (int, float)):
        exact = key is not None and key != "id" and not key.endswith("_id")
    elif isinstance(doc, str):
        placeholder = "..." in doc or "\u2026" in doc or "<" in doc
        exact = not placeholder and (
            AMOUNT.match(doc) is not None
            or key in EXACT_STRING_KEYS
            or (key == "code" and path.endswith("error.code"))
        )
    if exact and doc != actual:
        problems.append(f"{where}: documented {json.dumps(doc)}, got {json.dumps(actual)}")


def check_answer(cmd, actual_text):
    doc_no, doc_text = cmd.answer
    doc_status, doc_json = split_status(doc_text)
    doc = parse_abridged(doc_json)
    act_status, act_json = split_status(actual_text)
    problems = []
    try:
        actual = json.loads(act_json)
    except ValueError:
        shown = actual_text.strip()[:300] or "(nothing on stdout)"
        return [f"the output is not JSON: {shown}"]
    if doc_status is not None and doc_status != act_status:
        problems.append(f"HTTP status: documented {doc_status}, got {act_status}")
    compare(doc, actual, "", None, problems)
    return problems


# ----------------------------------------------------------------------------------- running

def ensure_tools():
    missing = [t for t in ("bash", "jq", "curl") if shutil.which(t) is None]
    if not missing:
        return
    hint = ("install them: Debian/Ubuntu `apt-get install -y jq curl`, Fedora `dnf install jq curl`, "
            "macOS `brew install jq curl`")
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise Failure(f"the walkthroughs need {' and '.join(missing)}; {hint}")
    print(f"Installing {' '.join(missing)} with apt-get", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    ok = subprocess.run(["apt-get", "update", "-qq"], env=env).returncode == 0 and subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
        env=env, stdout=subprocess.DEVNULL).returncode == 0
    still = [t for t in missing if shutil.which(t) is None]
    if not ok or still:
        raise Failure(f"apt-get could not install {' '.join(still or missing)}; {hint}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_script(blocks, port, out_dir):
    """The one bash script of every block in run order, and its commands in that order."""
    prelude = f"""set -euo pipefail
__WT_OUT={shlex.quote(out_dir)}
__wt_at() {{ echo "$1" >"$__WT_OUT/line"; printf '\\n[%s] $ %s\\n' "$2" "$3"; }}
__wt_exit() {{
  local rc=$? pids
  set +e
  pids=$(jobs -p)
  if [ -n "$pids" ]; then kill $pids 2>/dev/null; wait $pids 2>/dev/null; fi
  exit "$rc"
}}
trap __wt_exit EXIT
"""
    parts, all_cmds, answers = [prelude], [], 0
    for block in blocks:
        parts.append(f"\n# ---- walkthrough {block.name} ({block.at()})\n")
        for cmd in block.commands:
            cmd.seq = len(all_cmds)
            lines = [l.replace(PORT_IN_DOCS, f"127.0.0.1:{port}") for l in cmd.lines]
            shown = cmd.lines[0].strip() + (" ..." if len(cmd.lines) > 1 else "")
            parts.append(f"__wt_at {cmd.seq} {shlex.quote(cmd.at())} {shlex.quote(shown)}\n")
            if cmd.answer:
                cmd.index = answers
                answers += 1
                out = f'"$__WT_OUT/{cmd.index}.out"'
                parts.append("{\n" + "\n".join(lines) + f"\n}} >{out}\ncat {out}\n")
            else:
                parts.append("\n".join(lines) + "\n")
            all_cmds.append(cmd)
    parts.append('echo end >"$__WT_OUT/line"\n')
    return "".join(parts), all_cmds


def list_blocks(blocks):
    for b in blocks:
        answers = sum(1 for c in b.commands if c.answer)
        print(f"{b.at()}\t{b.name}\t{len(b.commands)} commands, {answers} answers")
    commands = sum(len(b.commands) for b in blocks)
    answers = sum(1 for b in blocks for c in b.commands if c.answer)
    print(f"{len(blocks)} walkthrough blocks, {commands} commands, {answers} answers, in this order")


def stop_group(pgid):
    for sig, wait_s in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 2.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin-dir", default=os.environ.get("VOUCHERS_BIN_DIR",
                                                       os.path.join(ROOT, "target", "debug")))
    ap.add_argument("--root", default=ROOT, help="the folder holding README.md and docs/")
    ap.add_argument("--list", action="store_true",
                    help="check the pages and list the walkthrough blocks in run order; run nothing")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds for the whole run")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--verbose", "-v", action="store_true", help="print the whole transcript")
    args = ap.parse_args()
    started = time.monotonic()

    root = os.path.abspath(args.root)
    blocks = read_pages(root)
    if not blocks:
        raise Failure(f"{', '.join(PAGES)}: no `<!-- walkthrough: NAME -->` blocks found")
    if args.list:
        list_blocks(blocks)
        return 0

    bin_dir = os.path.abspath(args.bin_dir)
    binary = os.path.join(bin_dir, "vouchers")
    if not os.access(binary, os.X_OK):
        raise Failure(f"no `vouchers` binary in {bin_dir} (build it: cargo build --locked -p "
                      "vouchers-cli, or pass --bin-dir / VOUCHERS_BIN_DIR)")
    ensure_tools()

    work = tempfile.mkdtemp(prefix="readme-walkthrough-")
    out_dir = os.path.join(work, ".answers")
    run_dir = os.path.join(work, "walkthrough")
    os.makedirs(out_dir)
    os.makedirs(run_dir)
    port = free_port()
    script, commands = build_script(blocks, port, out_dir)
    script_path = os.path.join(work, "walkthrough.sh")
    with open(script_path, "w", encoding="utf-8") as f:
        f.write(script)

    env = {k: v for k, v in os.environ.items() if not k.startswith("VOUCHERS_")}
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "/usr/bin:/bin")
    env["VOUCHERS_DATABASE_URL"] = f"sqlite://{os.path.join(work, 'vouchers.db')}"
    transcript_path = os.path.join(work, "transcript.txt")
    timed_out = False
    with open(transcript_path, "w", encoding="utf-8") as transcript:
        proc = subprocess.Popen(["bash", script_path], cwd=run_dir, env=env, stdin=subprocess.DEVNULL,
                                stdout=transcript, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            rc = proc.wait(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            timed_out, rc = True, None
        finally:
            stop_group(proc.pid)  # whatever the blocks started and left running
            if rc is None:
                rc = proc.wait()
    with open(transcript_path, encoding="utf-8", errors="replace") as f:
        transcript_text = f.read()
    if args.verbose:
        print(transcript_text)

    errors = []
    if timed_out or rc != 0:
        failed_file = os.path.join(out_dir, "line")
        seq = open(failed_file).read().strip() if os.path.exists(failed_file) else "?"
        what = f"timed out after {args.timeout:.0f} s" if timed_out else f"failed with exit status {rc}"
        if seq.isdigit() and int(seq) < len(commands):
            cmd = commands[int(seq)]
            where = f"{cmd.at()} (walkthrough {cmd.block.name}): `{cmd.lines[0].strip()}`"
        elif seq == "end":
            where = "after the last walkthrough block"
        else:
            where = "before the first walkthrough command"
        errors.append(f"{where} {what}")
    else:
        for cmd in commands:
            if not cmd.answer:
                continue
            with open(os.path.join(out_dir, f"{cmd.index}.out"), encoding="utf-8", errors="replace") as f:
                actual = f.read()
            try:
                problems = check_answer(cmd, actual)
            except Failure as e:
                problems = [str(e)]
            if problems:
                errors.append(f"{cmd.at(cmd.answer[0])} (walkthrough {cmd.block.name}): the answer of "
                              f"`{cmd.lines[0].strip()}` (line {cmd.line_no}) does not match what "
                              f"{cmd.block.path} shows:\n    " + "\n    ".join(problems)
                              + f"\n    actual: {actual.strip()[:400]}")

    if errors:
        if not args.verbose:
            print("---- last lines of the transcript:")
            print("\n".join(transcript_text.rstrip().split("\n")[-40:]))
        print(f"---- everything is in {work}", file=sys.stderr)
        for e in errors:
            print(f"FAIL: {e}", file=sys.stderr)
        return 1
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"kept {work}")
    answers = sum(1 for c in commands if c.answer)
    names = ", ".join(f"{b.name} ({b.at()})" for b in blocks)
    print(f"Walkthroughs OK: {names}; {len(commands)} commands, {answers} answers checked, "
          f"{time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
