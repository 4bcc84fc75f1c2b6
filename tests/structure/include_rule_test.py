#!/usr/bin/env python3
"""Checks kiroku's module rule from outside the compiler (the compiler enforces it too:
cmake/kiroku_module.cmake puts a module's headers only on the include path of the targets
that link it).

  include_rule_test.py BUILD_DIR SOURCE_DIR

1. Every `#include "m/..."` in src/<module>/ names the module itself, a module it declares
   (DEPENDS or PRIVATE_DEPENDS in its CMakeLists.txt, or one of theirs), or the public API
   (kiroku/). Generated protocol headers (x.pb.h) need the `proto` dependency. Unit tests
   (*_test.cc, *_test_util.h) may also include the shared test support (support/).
2. The public headers (include/kiroku/) include only the public API and system headers.
3. The examples include only the public API and their own files.
4. src/README.md states exactly the rule the CMakeLists.txt files declare.
Prints every violation with FILE:LINE and exits 1 if there is any.
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def read_rules(build_dir):
    rules = {}
    with open(os.path.join(build_dir, "module_rules.txt")) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            name, _, deps = line.partition(":")
            rules[name] = set(deps.split())
    return rules


def closure(rules, name):
    seen, todo = set(), list(rules.get(name, ()))
    while todo:
        d = todo.pop()
        if d in seen:
            continue
        seen.add(d)
        todo.extend(rules.get(d, ()))
    return seen


def includes(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if m:
                yield n, m.group(1)


def readme_rules(source_dir):
    """The fenced block after the line '<!-- module rule -->' in src/README.md."""
    text = open(os.path.join(source_dir, "src", "README.md")).read().splitlines()
    try:
        start = text.index("<!-- module rule -->")
    except ValueError:
        return None
    rules, in_block = {}, False
    for line in text[start + 1:]:
        if line.startswith("```"):
            if in_block:
                break
            in_block = True
            continue
        if in_block and line.strip():
            name, _, deps = line.partition(":")
            deps = deps.strip()
            rules[name.strip()] = set() if deps in ("", "-") else set(deps.split())
    return rules


def main():
    build_dir, source_dir = sys.argv[1], sys.argv[2]
    rules = read_rules(build_dir)
    problems = []
    src = os.path.join(source_dir, "src")
    for module in sorted(os.listdir(src)):
        folder = os.path.join(src, module)
        if not os.path.isdir(folder):
            continue
        if module not in rules:
            problems.append(f"src/{module}/: a folder without a kiroku_module() rule")
            continue
        allowed = closure(rules, module) | {module, "kiroku"}
        for root, _, files in os.walk(folder):
            for fname in sorted(files):
                if not fname.endswith((".h", ".cc")):
                    continue
                path = os.path.join(root, fname)
                rel = os.path.relpath(path, source_dir)
                for n, inc in includes(path):
                    if "/" not in inc:
                        if inc.endswith(".pb.h") and "proto" not in allowed:
                            problems.append(f"{rel}:{n}: includes \"{inc}\" but {module} "
                                            "does not depend on proto")
                        continue
                    top = inc.split("/", 1)[0]
                    if top == "support" and fname.endswith(("_test.cc", "_test_util.h")):
                        continue
                    if top not in allowed:
                        problems.append(f"{rel}:{n}: includes \"{inc}\" but {module} may "
                                        f"depend only on {', '.join(sorted(allowed))}")
    public = os.path.join(source_dir, "include", "kiroku")
    for fname in sorted(os.listdir(public)):
        path = os.path.join(public, fname)
        for n, inc in includes(path):
            if not inc.startswith("kiroku/"):
                problems.append(f"include/kiroku/{fname}:{n}: the public API includes "
                                f"\"{inc}\"")
    examples = os.path.join(source_dir, "examples")
    for root, _, files in os.walk(examples):
        for fname in sorted(files):
            if not fname.endswith((".h", ".cc")):
                continue
            path = os.path.join(root, fname)
            rel = os.path.relpath(path, source_dir)
            for n, inc in includes(path):
                if inc.startswith("kiroku/"):
                    continue
                local = os.path.join(root, inc)
                example_root = os.path.join(examples, os.path.relpath(root, examples).split(os.sep)[0])
                if not (os.path.exists(local) or os.path.exists(os.path.join(example_root, inc))):
                    problems.append(f"{rel}:{n}: an example includes \"{inc}\", which is "
                                    "neither the public API nor its own file")
    stated = readme_rules(source_dir)
    if stated is None:
        problems.append("src/README.md: no '<!-- module rule -->' block")
    elif stated != rules:
        for name in sorted(set(stated) | set(rules)):
            if stated.get(name) != rules.get(name):
                problems.append(f"src/README.md states {name}: "
                                f"{' '.join(sorted(stated.get(name, ()))) or '-'}; the build "
                                f"declares {' '.join(sorted(rules.get(name, ()))) or '-'}")
    for p in problems:
        print(p)
    checked = len(rules)
    print(f"include rule: {checked} modules, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
