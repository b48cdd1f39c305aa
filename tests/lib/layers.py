#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The shape of user/: data flows one way.

A module is one .c with its .h (user/FOLDER/NAME.[ch]). Module A depends on
module B when A's files include B's header or call a function B defines.
Checks, each printed as "FAIL ..." with the evidence:

  cycles   no dependency cycle among modules (include and call graph)
  pure     the pure folders (policy/, audit/) use nothing outside them
  sizes    no .c file (nor bpf/*.bpf.[ch]) over 1000 lines, no function
           over 120 lines
           (only with --sizes)

Exit 0 when every check asked for holds, 1 otherwise.
"""
import glob
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
PURE = {"policy", "audit"}
PURE_EXTRA = {"request"}  # the broker's judge is pure too
MAX_FILE, MAX_FUNC = 1000, 120

INCLUDE = re.compile(r'^#include "([^"]+)\.h"', re.M)
# A function definition at file scope: "type name(args)\n{" (STYLE.md form).
DEFN = re.compile(r"^(?!static)[a-z][\w \*]*?\b(tw_\w+)\([^;{]*?\)\n\{", re.M)
CALL = re.compile(r"\b(tw_\w+)\s*\(")
FUNC = re.compile(r"^[a-z][^\n;]*?\b(\w+)\([^;{]*?\)\n\{\n(.*?)^\}\n", re.M | re.S)


def strip_comments(text):
    return re.sub(r"/\*.*?\*/|//[^\n]*", "", text, flags=re.S)


def modules():
    mods = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "user", "*", "*.[ch]"))):
        folder = os.path.basename(os.path.dirname(path))
        name = os.path.splitext(os.path.basename(path))[0]
        m = mods.setdefault(name, {"folder": folder, "files": []})
        m["files"].append(path)
    return mods


def graph(mods):
    """edges[a][b] = the reason a depends on b (first one found)."""
    defined = {}
    texts = {}
    for name, m in mods.items():
        for path in m["files"]:
            texts[path] = strip_comments(open(path, encoding="utf-8").read())
            if path.endswith(".c"):
                for fn in DEFN.findall(texts[path]):
                    defined.setdefault(fn, name)
    edges = {name: {} for name in mods}
    for name, m in mods.items():
        for path in m["files"]:
            rel = os.path.relpath(path, ROOT)
            for inc in INCLUDE.findall(texts[path]):
                if inc in mods and inc != name:
                    edges[name].setdefault(inc, f"{rel} includes {inc}.h")
            if path.endswith(".c"):
                for fn in CALL.findall(texts[path]):
                    owner = defined.get(fn)
                    if owner and owner != name:
                        edges[name].setdefault(owner, f"{rel} calls {fn}()")
    return edges


def cycles(edges):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def check_cycles(edges):
    bad = cycles(edges)
    for comp in bad:
        print(f"FAIL cycle among {', '.join(comp)}:")
        for a in comp:
            for b in comp:
                if b in edges[a]:
                    print(f"    {a} -> {b}: {edges[a][b]}")
    return not bad


def check_pure(mods, edges):
    ok = True
    for name, m in mods.items():
        if m["folder"] not in PURE and name not in PURE_EXTRA:
            continue
        for dep, why in edges[name].items():
            if mods[dep]["folder"] not in PURE and dep not in PURE_EXTRA:
                print(f"FAIL pure {m['folder']}/{name} uses "
                      f"{mods[dep]['folder']}/{dep}: {why}")
                ok = False
    return ok


def check_sizes(mods):
    ok = True
    # the kernel programs too: bpf/*.bpf.c and their stage headers
    bpf = sorted(glob.glob(os.path.join(ROOT, "bpf", "*.bpf.[ch]")))
    for path in [p for m in mods.values() for p in m["files"]] + bpf:
        if path.endswith(".h") and not path.endswith(".bpf.h"):
            continue
        rel = os.path.relpath(path, ROOT)
        text = open(path, encoding="utf-8").read()
        lines = text.count("\n")
        if lines > MAX_FILE:
            print(f"FAIL size {rel}: {lines} lines (> {MAX_FILE})")
            ok = False
        for fm in FUNC.finditer(text):
            n = fm.group(2).count("\n")
            if n > MAX_FUNC:
                line = text.count("\n", 0, fm.start()) + 1
                print(f"FAIL size {rel}:{line}: {fm.group(1)}() "
                      f"is {n} lines (> {MAX_FUNC})")
                ok = False
    return ok


def main(argv):
    mods = modules()
    edges = graph(mods)
    ok = check_cycles(edges)
    ok = check_pure(mods, edges) and ok
    if "--sizes" in argv:
        ok = check_sizes(mods) and ok
    n = sum(len(e) for e in edges.values())
    print(f"layers: {len(mods)} modules, {n} dependencies: "
          f"{'one-way' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
