#!/usr/bin/env python3
"""Writes Sources/KernelCore/KernelSet.swift (the protocol every vector path implements) and
Sources/Kernels/Kernels.swift (the public functions that forward to the path chosen at start-up)
from the `public static func` kernels of Sources/VectorKernels, their signatures and doc comments.

Run it after adding or changing a public kernel: python3 scripts/gen_kernel_set.py
(CI does not run it; the build fails when the three disagree.)"""
import glob
import os
import re

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
WIDTH = 118


def kernels():
    """(file stem, name, parameters text, return clause, doc lines) of each public kernel."""
    found = []
    for path in sorted(glob.glob(os.path.join(ROOT, "Sources/VectorKernels/*.swift"))):
        if path.endswith("VectorMath.swift"):
            continue
        text = open(path).read()
        for m in re.finditer(r"\n    public static func (\w+)\(", text):
            i, depth = m.end(), 1
            while depth:
                depth += {"(": 1, ")": -1}.get(text[i], 0)
                i += 1
            params = " ".join(text[m.end():i - 1].split())
            ret = text[i:text.index("{", i)].strip()
            before = text[:m.start() + 1].split("\n")[:-1]
            k, doc = len(before) - 1, []
            while k >= 0 and before[k].strip().startswith("@"):
                k -= 1
            while k >= 0 and before[k].strip().startswith("///"):
                doc.insert(0, before[k].strip())
                k -= 1
            found.append((os.path.basename(path)[:-6], m.group(1), params, ret, doc))
    return found


def split_params(params):
    out, depth, cur = [], 0, ""
    for c in params:
        depth += c in "(<[" and 1 or 0
        depth -= c in ")>]" and 1 or 0
        if c == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += c
    return out + ([cur.strip()] if cur.strip() else [])


def argument(param):
    names = param.split(":", 1)[0].split()
    external, internal = (names * 2)[:2] if len(names) == 1 else names
    return internal if external == "_" else f"{external}: {internal}"


def wrap(head, items, tail, indent):
    one = f"{head}({', '.join(items)}){tail}"
    if len(indent + one) <= WIDTH:
        return [indent + one]
    lines, cur = [indent + head + "("], indent + "    "
    for i, item in enumerate(items):
        piece = item + ("," if i < len(items) - 1 else "")
        if len(cur) + len(piece) + 1 > WIDTH and cur.strip():
            lines.append(cur.rstrip())
            cur = indent + "    "
        cur += piece + " "
    return lines + [cur.rstrip(), indent + ")" + tail]


def main():
    groups = {}
    for stem, name, params, ret, doc in kernels():
        groups.setdefault(stem, []).append((name, split_params(params), ret, doc))
    protocol = [
        "// The element-wise and attention kernels as one set of entry points, which every vector path",
        "// implements: `SIMDKernels` of VectorKernels (portable), VectorKernelsAVX2 and VectorKernelsAVX512,",
        "// one Swift source (Sources/VectorKernels) built for each instruction set. `Kernels` picks a",
        "// set at start-up (`KernelPath`) and forwards its public functions, documented there, to it.",
        "// Written by scripts/gen_kernel_set.py.",
        "",
        "public protocol KernelSet {",
        '    /// The instructions this build of the loops uses: "avx512", "avx2+fma", "sse2" or "neon".',
        "    static var instructionSet: String { get }",
        "",
    ]
    facade = [
        "// The kernels' public entry points. Each forwards to the vector path chosen for this CPU at",
        "// start-up (`KernelPath.current`): the same Swift source (Sources/VectorKernels) compiled for",
        "// AVX-512, for AVX2 + FMA and for the portable baseline, so one binary runs fast on each.",
        "// Written by scripts/gen_kernel_set.py from the implementations' signatures and comments.",
        "",
        "@_exported import KernelCore",
        "",
    ]
    for stem, items in groups.items():
        protocol.append(f"    // {stem}")
        facade.append(f"// MARK: {stem}\n")
        for name, params, ret, doc in items:
            tail = f" {ret}" if ret else ""
            protocol += wrap(f"static func {name}", [re.sub(r"\s*=.*$", "", p) for p in params], tail, "    ")
            facade += doc + wrap(f"public func {name}", params, tail + " {", "")
            facade += wrap(f"{'return ' if ret else ''}KernelPath.kernels.{name}", [argument(p) for p in params], "", "    ")
            facade.append("}\n")
        protocol.append("")
    protocol[-1] = "}"
    open(os.path.join(ROOT, "Sources/KernelCore/KernelSet.swift"), "w").write("\n".join(protocol) + "\n")
    open(os.path.join(ROOT, "Sources/Kernels/Kernels.swift"), "w").write("\n".join(facade).rstrip() + "\n")


if __name__ == "__main__":
    main()
