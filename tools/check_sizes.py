"""Fails when a module of ``app/`` passes 600 lines or a function 100 lines.

A module or function past these sizes is split along its seams (ARCHITECTURE.md);
`make lint` runs this. Tests and migrations are not held to it.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 100


def problems(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        lines = source.count("\n") + (0 if source.endswith("\n") or not source else 1)
        if lines > MAX_MODULE_LINES:
            found.append(f"{path}: {lines} lines (at most {MAX_MODULE_LINES})")
        for node in ast.walk(ast.parse(source, filename=str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                length = (node.end_lineno or node.lineno) - start + 1
                if length > MAX_FUNCTION_LINES:
                    found.append(
                        f"{path}:{node.lineno}: {node.name} is {length} lines"
                        f" (at most {MAX_FUNCTION_LINES})"
                    )
    return found


def main(argv: list[str]) -> int:
    found = [line for top in argv or ["app"] for line in problems(Path(top))]
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
