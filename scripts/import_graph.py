#!/usr/bin/env python3
"""Module import graph of a crate's src/ from its `use` paths, with cycles.

Usage: scripts/import_graph.py [core/src] [--dot] [--level N]

Each .rs file is a module (mod.rs / lib.rs name their folder). An edge A -> B
means A names `crate::B...` (or `super::...` / `self::...` / a bare child
module path `child::...` resolving to B) in a `use` or in a path expression.
A name that a module re-exports (`pub use x::A`, `pub use self::x::{A, B as C}`,
`pub use crate::...`, `pub(crate) use ...`) is followed to the module that
defines it: `crate::vfs::ObjectId` re-exported by vfs/mod.rs from `vfs::types`
is an edge to `vfs::types`, not to `vfs` (glob re-exports are not followed).

Edges are collapsed to the top `--level` path segments (default 1: `smb`,
`lease`, `server`, ...; 0 keeps one node per file). Test-only modules (tests,
roundtrip, conformance, and files declared by `#[cfg(test)] mod x;`) and `#[cfg(test)] mod x { ... }` bodies are left out:
they may look anywhere. Prints the edges and the strongly connected components
with more than one member; exits 1 when there is a cycle.
"""
import argparse
import os
import re
import sys

# Test-only modules by name (core/src/testing's cfg(test) parts are found by
# their `#[cfg(test)] mod` declarations).
TEST_PARTS = {"tests", "roundtrip", "conformance"}


def module_of(root, path):
    rel = os.path.relpath(path, root)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib"):
        rel = rel[:-1]
    return rel


def strip_comments(src):
    src = re.sub(r"//[^\n]*", "", src)
    src = re.sub(r"/\*.*?\*/", "", src, flags=re.S)
    src = re.sub(r'"(\\.|[^"\\])*"', '""', src)
    return src


def drop_cfg_test(src):
    # Remove `#[cfg(test)] mod x { ... }` bodies and `#[cfg(test)] mod x;` lines.
    out, i = [], 0
    pat = re.compile(r"#\[cfg\(test\)\]\s*(pub(\([^)]*\))?\s+)?mod\s+\w+\s*([;{])")
    while True:
        m = pat.search(src, i)
        if not m:
            out.append(src[i:])
            break
        out.append(src[i:m.start()])
        if m.group(3) == ";":
            i = m.end()
            continue
        depth, j = 1, m.end()
        while j < len(src) and depth:
            depth += {"{": 1, "}": -1}.get(src[j], 0)
            j += 1
        i = j
    return "".join(out)


def use_tree(text):
    # `a::{B as C, d}` -> `a::{B=>C,d}` (an alias kept as `=>name`).
    return re.sub(r"\s+as\s+", "=>", text.strip()).replace("\n", " ").replace(" ", "")


def reexports_in(src):
    # The paths of `pub use` / `pub(..) use` items, each with the name it takes.
    found = []
    for m in re.finditer(r"\bpub(?:\([^)]*\))?\s+use\s+([^;]+);", src):
        for p in expand(use_tree(m.group(1))):
            path, _, alias = p.partition("=>")
            if not path.endswith("*"):
                found.append((path, alias or path.split("::")[-1]))
    return found


def paths_in(src):
    # Expand `use a::{b, c::{d}}` groups into whole paths.
    found = []
    for m in re.finditer(r"\buse\s+([^;]+);", src):
        found.extend(p.partition("=>")[0] for p in expand(use_tree(m.group(1))))
    for m in re.finditer(r"\b((?:crate|super)(?:::\w+)+)", src):
        found.append(m.group(1))
    return found


def expand(tree):
    if "{" not in tree:
        return [p for p in tree.split(",") if p]
    head, rest = tree.split("{", 1)
    body = rest[: rest.rfind("}")]
    parts, depth, cur = [], 0, ""
    for ch in body:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += {"{": 1, "}": -1}.get(ch, 0)
        cur += ch
    parts.append(cur)
    out = []
    for p in parts:
        if p == "":
            continue  # a trailing comma
        if p == "self":
            out.append(head.rstrip(":"))
        else:
            out.extend(head + q for q in expand(p))
    return out


def resolve(me, path, is_dir_module):
    segs = path.split("::")
    if segs[0] == "crate":
        return segs[1:]
    if segs[0] == "self":
        return list(me) + segs[1:]
    if segs[0] == "super":
        # `super` is the parent of the module the file is (mod.rs files are
        # already named by their folder).
        base = list(me)
        while segs and segs[0] == "super":
            base = base[:-1]
            segs = segs[1:]
        return base + segs
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", nargs="?", default="core/src")
    ap.add_argument("--level", type=int, default=1)
    ap.add_argument("--dot", action="store_true")
    opts = ap.parse_args()
    root, level = opts.root, opts.level
    mods = {}
    test_files = set()
    for d, _, files in os.walk(root):
        for f in files:
            if f.endswith(".rs"):
                p = os.path.join(d, f)
                src = strip_comments(open(p).read())
                for m in re.finditer(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", src):
                    me = module_of(root, p)
                    test_files.add(tuple(me + [m.group(1)]))
    for d, _, files in os.walk(root):
        for f in files:
            if f.endswith(".rs"):
                p = os.path.join(d, f)
                m = module_of(root, p)
                if any(part in TEST_PARTS or part.endswith("_tests") for part in m):
                    continue
                if any(tuple(m[:n]) in test_files for n in range(1, len(m) + 1)):
                    continue  # a #[cfg(test)] module
                mods[p] = m
    known = {tuple(m) for m in mods.values()}

    def children_of(m):
        return {k[-1] for k in known if len(k) == len(m) + 1 and list(k[:-1]) == m}

    # (module, name) -> the full path a `pub use` in that module re-exports.
    reexports = {}
    for p, m in mods.items():
        src = drop_cfg_test(strip_comments(open(p).read()))
        kids = children_of(m)
        for path, name in reexports_in(src):
            if path.split("::")[0] in kids:
                path = "self::" + path
            tgt = resolve(m, path, False)
            if tgt:
                reexports[(tuple(m), name)] = tgt

    def owner(path, hops=0):
        # The file (module) a path names: its longest known prefix, or the
        # module that defines the item when that prefix re-exports it.
        for n in range(len(path), -1, -1):
            if tuple(path[:n]) in known:
                key = (tuple(path[:n]), path[n] if n < len(path) else None)
                if key in reexports and hops < 16:
                    return owner(reexports[key] + path[n + 1:], hops + 1)
                return list(path[:n]) if n else None
        return None

    edges = set()
    for p, m in mods.items():
        if not m:
            continue  # lib.rs re-exports
        src = drop_cfg_test(strip_comments(open(p).read()))
        is_dir = os.path.basename(p) == "mod.rs"
        children = children_of(m)
        rel = [f"self::{c}" + mm.group(0)[len(c):] for c in children
               for mm in re.finditer(r"(?<![:\w])" + c + r"(?:::\w+)+", src)]
        uses = [("self::" + u if u.split("::")[0] in children else u) for u in paths_in(src)]
        for path in uses + rel:
            tgt = resolve(m, path, is_dir)
            tgt = owner(tgt) if tgt else None
            if not tgt:
                continue
            cut = level or None
            a, b = tuple(m[:cut]), tuple(tgt[:cut])
            if a != b and b and b[0] not in TEST_PARTS:
                edges.add(("::".join(a), "::".join(b)))
    nodes = sorted({n for e in edges for n in e})
    graph = {n: sorted(b for a, b in edges if a == n) for n in nodes}
    if opts.dot:
        print("digraph core {")
        for a, b in sorted(edges):
            print(f'  "{a}" -> "{b}";')
        print("}")
    else:
        for n in nodes:
            print(f"{n} -> {', '.join(graph[n]) or '(nothing)'}")
    sccs = tarjan(graph)
    cyc = [c for c in sccs if len(c) > 1]
    for c in cyc:
        print("cycle:", " <-> ".join(sorted(c)), file=sys.stderr)
    if not cyc:
        print("no cycle", file=sys.stderr)
    return 1 if cyc else 0


def tarjan(graph):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, []):
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
            out.append(comp)

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return out


if __name__ == "__main__":
    sys.exit(main())
