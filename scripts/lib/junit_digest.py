"""What failed in a JUnit XML report, short enough for the end of a CI log.

Usage: junit_digest.py REPORT.xml [MAX_LINES]

CI systems often keep only the tail of a log; a session fixture that fails errors hundreds of
tests with the same message. This prints each distinct failure once (with how many tests it
hit), repeated lines collapsed, so the last screen of the log says why a stage failed.
"""

import collections
import re
import sys
import xml.etree.ElementTree as ET

MAX_PROBLEMS = 8


def collapse(lines):
    """Consecutive identical lines -> one line with a count."""
    out = []
    for line in lines:
        if out and out[-1][0] == line:
            out[-1][1] += 1
        else:
            out.append([line, 1])
    return [line if n == 1 else "%s   [x%d]" % (line, n) for line, n in out]


LOCATION = re.compile(r"^\S+\.py:\d+")


def essentials(text):
    """The message, then of a pytest traceback only where it went (file:line) and what it raised
    (E lines); other text whole."""
    lines = [line.rstrip() for line in text.strip().splitlines() if line.strip()]
    kept = [line for line in lines[1:] if LOCATION.match(line) or line.startswith("E ")]
    return lines[:1] + kept if kept else lines


def digest(path, max_lines=40):
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        return ["(no readable report at %s: %s)" % (path, exc)]
    problems = collections.OrderedDict()
    for case in root.iter("testcase"):
        for kind in ("error", "failure"):
            for node in case.findall(kind):
                text = (node.get("message") or "") + "\n" + (node.text or "")
                key = (kind, (node.get("message") or "").strip()[:300])
                name = "%s::%s" % (case.get("classname", ""), case.get("name", ""))
                problems.setdefault(key, [name, text, 0])
                problems[key][2] += 1
    lines = []
    shown = list(problems.items())[:MAX_PROBLEMS]
    for (kind, _message), (first, text, count) in shown:
        lines.append("%s in %d test(s), first %s:" % (kind.upper(), count, first))
        body = collapse(essentials(text))
        if len(body) > max_lines:
            body = body[:max_lines // 2] + ["   ..."] + body[-max_lines // 2:]
        lines.extend("   " + line for line in body)
    if len(problems) > MAX_PROBLEMS:
        lines.append("(and %d more distinct failures: see %s)" % (len(problems) - MAX_PROBLEMS, path))
    return lines


if __name__ == "__main__":
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    print("\n".join(digest(sys.argv[1], limit)))
