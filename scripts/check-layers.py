#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Fails when files of busd/ or libbus/ depend on each other in a circle.

A file here is a concept: foo.c with its foo.h.  One depends on another
when it includes the other's header (the #include lines), or when its
object calls or reads a symbol that the other's object defines (nm: the
undefined symbols of one object against the defined symbols of the
others).  Every such edge within and between the checked folders makes
one graph; any cycle in it is printed and fails the check.

    check-layers.py SOURCE_ROOT FOLDER=OBJECT... [FOLDER=OBJECT...]

FOLDER is a source folder relative to SOURCE_ROOT (busd, libbus,
libbus/core) and OBJECT one of its built objects (NAME.c.o), or a
directory whose objects (*.o, at any depth) are all that folder's.  A folder
named without objects is still read for its includes.
"""
import os
import re
import subprocess
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def stem(path):
    name = os.path.basename(path)
    for suffix in (".c.o", ".o", ".c", ".h"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def node_of_object(folder, obj):
    return folder + "/" + stem(obj)


def read_symbols(objects):
    """{object: (defined, undefined)} global symbols, from one nm run."""
    out = subprocess.run(["nm", "-A", "-g"] + objects,
                         capture_output=True, text=True, check=True).stdout
    symbols = {obj: (set(), set()) for obj in objects}
    for line in out.splitlines():
        path, _, rest = line.partition(":")
        fields = rest.split()
        if path not in symbols or len(fields) < 2:
            continue
        if fields[-2] == "U":
            symbols[path][1].add(fields[-1])
        elif len(fields) >= 3:
            symbols[path][0].add(fields[-1])
    return symbols


def include_edges(root, folders, graph):
    """Edges from #include lines: a file of a checked folder to the
    concept whose header it names (its own folder first, then the
    others, as the include paths resolve them)."""
    for folder in folders:
        directory = os.path.join(root, folder)
        for name in sorted(os.listdir(directory)):
            if not name.endswith((".c", ".h")):
                continue
            with open(os.path.join(directory, name), encoding="utf-8") as f:
                text = f.read()
            source = folder + "/" + stem(name)
            graph.setdefault(source, set())
            for header in INCLUDE.findall(text):
                for candidate in [folder] + folders:
                    if os.path.exists(os.path.join(root, candidate, header)):
                        target = os.path.normpath(
                            os.path.join(candidate, os.path.dirname(header),
                                         stem(header)))
                        if target != source and \
                           os.path.dirname(target) in folders:
                            graph[source].add(target)
                        break


def call_edges(objects, graph):
    defined_by = {}
    uses = {}
    symbols = read_symbols([obj for _, obj in objects]) if objects else {}
    for folder, obj in objects:
        node = node_of_object(folder, obj)
        defined, undefined = symbols[obj]
        for symbol in defined:
            defined_by.setdefault(symbol, node)
        uses.setdefault(node, set()).update(undefined)
    for node, symbols in uses.items():
        graph.setdefault(node, set())
        for symbol in symbols:
            target = defined_by.get(symbol)
            if target and target != node:
                graph[node].add(target)


def cycles(graph):
    """The strongly connected components of more than one node (Tarjan)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def one_circle(graph, component):
    """A shortest way around the component from its first node, to print."""
    members = set(component)
    start = component[0]
    paths = {start: [start]}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph.get(v, ())):
            if w == start:
                return paths[v] + [start]
            if w in members and w not in paths:
                paths[w] = paths[v] + [w]
                queue.append(w)
    return component


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    root = argv[1]
    folders, objects = [], []
    for arg in argv[2:]:
        folder, _, obj = arg.partition("=")
        if folder not in folders:
            folders.append(folder)
        if obj and os.path.isdir(obj):
            for directory, _, names in sorted(os.walk(obj)):
                objects.extend((folder, os.path.join(directory, name))
                               for name in sorted(names)
                               if name.endswith(".o"))
        elif obj:
            objects.append((folder, obj))
    graph = {}
    include_edges(root, folders, graph)
    call_edges(objects, graph)
    found = cycles(graph)
    for component in found:
        print("circle: " + " -> ".join(one_circle(graph, component)))
        print("  (all of: " + ", ".join(component) + ")")
    if found:
        return 1
    edges = sum(len(v) for v in graph.values())
    print("check-layers: %d files, %d dependencies, no circle"
          % (len(graph), edges))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
