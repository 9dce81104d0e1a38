"""Mutation testing of ``src/crmkit/policies``: does a small change to a rule fail a test?

Each mutant changes one thing in one policy module — a comparison flipped (``<`` ↔ ``<=``,
``>`` ↔ ``>=``, ``==`` ↔ ``!=``, ``in`` ↔ ``not in``, ``is`` ↔ ``is not``), ``and`` ↔ ``or``,
a ``not`` dropped, an integer constant ±1 — in a copy of the package put first on
``PYTHONPATH``; the module's tests then run with ``-x -q`` under a per-mutant timeout. A failing
(or timed-out) run kills the mutant; a passing one lets it survive, and every surviving mutant
that changes behaviour is a missing test. The working tree is never touched.

    python bench/mutate.py reclaim scopes            # named modules of crmkit.policies
    python bench/mutate.py --all                     # every module (slow: minutes per module)
    python bench/mutate.py reclaim --list            # the mutants only, no test runs

Exit status 0; the report ends with ``killed/total`` per module and overall.
"""

from __future__ import annotations

import argparse
import ast
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "crmkit"
POLICIES = PACKAGE / "policies"
TESTS: dict[str, list[str]] = {
    "approvals": ["tests/policies/test_approval_flows.py",
                  "tests/policies/test_approval_machine.py"],
    "approval_flows": ["tests/policies/test_approval_flows.py",
                       "tests/policies/test_approval_machine.py"],
    "approval_routing": ["tests/policies/test_approval_flows.py",
                         "tests/policies/test_approval_machine.py"],
    "credentials": ["tests/policies/test_credentials.py"],
    "contracts": ["tests/policies/test_contract_rules.py"],
    "default_roles": ["tests/workflow/test_org.py", "-k", "memory"],
    "department_refs": ["tests/workflow/test_org.py", "-k", "memory and refers"],
    "fieldtypes": ["tests/fields"],
    "org_rules": ["tests/policies/test_org_rules.py"],
    "query_eval": ["tests/adapters/test_record_storage.py", "-k", "memory"],
    "reclaim": ["tests/policies/test_reclaim.py"],
    "sales": ["tests/policies/test_sales.py"],
    "scopes": ["tests/policies/test_scopes.py"],
    "validation": ["tests/policies/test_validation.py"],
}
"""The tests run against each module's mutants (default: ``tests/policies/test_<name>.py``)."""

SWAPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In,
    ast.Is: ast.IsNot, ast.IsNot: ast.Is,
}


@dataclass(frozen=True)
class Mutant:
    module: str
    number: int
    line: int
    description: str
    source: str


class _Mutator(ast.NodeTransformer):
    """Applies the ``target``-th mutation point (in walk order) and leaves the rest alone."""

    def __init__(self, target: int) -> None:
        self.target, self.seen, self.description, self.line = target, -1, "", 0

    def _hit(self, description: str, node: ast.AST) -> bool:
        self.seen += 1
        if self.seen == self.target:
            self.description, self.line = description, getattr(node, "lineno", 0)
            return True
        return False

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        for i, op in enumerate(node.ops):
            swapped = SWAPS.get(type(op))
            if swapped is not None and self._hit(
                    f"{type(op).__name__} → {swapped.__name__}", node):
                node.ops[i] = swapped()
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        self.generic_visit(node)
        flipped = ast.Or if isinstance(node.op, ast.And) else ast.And
        if self._hit(f"{type(node.op).__name__} → {flipped.__name__}", node):
            node.op = flipped()
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Not) and self._hit("drop not", node):
            return node.operand
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        value = node.value
        if isinstance(value, int) and not isinstance(value, bool):
            up = self._hit(f"{value} → {value + 1}", node)
            down = self._hit(f"{value} → {value - 1}", node)
            if up or down:
                return ast.copy_location(ast.Constant(value + 1 if up else value - 1), node)
        return node

    def visit_Expr(self, node: ast.Expr) -> ast.AST:
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return node  # docstrings are not code
        self.generic_visit(node)
        return node


def mutants(module: str) -> Iterator[Mutant]:
    source = (POLICIES / f"{module}.py").read_text(encoding="utf-8")
    target = 0
    while True:
        mutator = _Mutator(target)
        tree = mutator.visit(ast.parse(source))
        if mutator.seen < target:
            return
        yield Mutant(module, target, mutator.line, mutator.description, ast.unparse(tree))
        target += 1


def run(mutant: Mutant, copy: Path, timeout: float) -> str:
    """``killed`` / ``timeout`` / ``survived`` for one mutant, tested against its module's tests."""
    target = copy / "crmkit" / "policies" / f"{mutant.module}.py"
    original = target.read_text(encoding="utf-8")
    target.write_text(mutant.source, encoding="utf-8")
    tests = TESTS.get(mutant.module, [f"tests/policies/test_{mutant.module}.py"])
    env = {**os.environ, "PYTHONPATH": str(copy), "HYPOTHESIS_PROFILE": "mutate"}
    env.pop("CRMKIT_TEST_PG_URL", None)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
            cwd=ROOT, env=env, capture_output=True,
            timeout=timeout, check=False)
        return "survived" if done.returncode == 0 else "killed"
    except subprocess.TimeoutExpired:
        return "timeout"
    finally:
        target.write_text(original, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="policy module names (default: --all)")
    parser.add_argument("--all", action="store_true", help="every module of crmkit.policies")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per mutant")
    args = parser.parse_args(argv)
    names = args.modules or sorted(p.stem for p in POLICIES.glob("*.py")
                                   if p.stem != "__init__")
    totals: dict[str, tuple[int, int]] = {}
    survivors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="crmkit-mutants-") as tmp:
        copy = Path(tmp)
        shutil.copytree(PACKAGE, copy / "crmkit",
                        ignore=shutil.ignore_patterns("__pycache__"))
        for name in names:
            killed = total = 0
            started = time.monotonic()
            for mutant in mutants(name):
                where = f"policies/{name}.py:{mutant.line} #{mutant.number} {mutant.description}"
                if args.list:
                    print(where)
                    continue
                outcome = run(mutant, copy, args.timeout)
                total += 1
                killed += outcome != "survived"
                if outcome == "survived":
                    survivors.append(where)
                print(f"{outcome:<8} {where}", flush=True)
            if not args.list:
                totals[name] = (killed, total)
                print(f"== {name}: {killed}/{total} killed "
                      f"({time.monotonic() - started:.0f} s)", flush=True)
    if totals:
        all_killed = sum(k for k, _ in totals.values())
        all_total = sum(t for _, t in totals.values())
        print("\nscore")
        for name, (killed, total) in totals.items():
            print(f"  {name:<16} {killed}/{total}")
        print(f"  {'overall':<16} {all_killed}/{all_total}")
        print("survivors:" if survivors else "no survivors", *survivors, sep="\n  ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
