"""Mutation testing: break the code one small way at a time and see whether the tests notice.

Each mutant is one change to one module (``+`` -> ``-``, ``<`` -> ``<=``, ``and`` -> ``or``, ``True`` -> ``False``,
a number + 1, ``return x`` -> ``return None``, a call statement or augmented assignment deleted), applied to a copy
of the repository in a temporary folder; the chosen tests then run against that copy with ``-x`` and a timeout.
A mutant is *killed* when a test fails, *survives* when all pass (a wrong result the tests do not notice, or an
equivalent change), and *times out* when the tests run past the limit (counted as noticed: the code is broken).

The mutants are drawn at random (seeded) from all those of a module, so that a run fits the shared 2-core machine:
``--max-mutants`` per module. ``--only MODULE:INDEX`` reruns named mutants (as the survivors list prints them).

    .venv/bin/python benchmarks/mutation.py                              # the default modules and tests
    .venv/bin/python benchmarks/mutation.py --max-mutants 10 --seed 1
    .venv/bin/python benchmarks/mutation.py kaggle_kit/runtime/store.py="tests/test_runner.py -k oof"
    .venv/bin/python benchmarks/mutation.py --only kaggle_kit/blend/weighting.py:17 --list

A target is ``PATH`` (its tests are the default ones for it, or ``--tests``) or ``PATH=PYTEST ARGS``. Not run in
CI: a run takes minutes per module.
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import load_average, machine_line

REPO = Path(__file__).resolve().parents[1]

#: module -> the fast tests that should notice a wrong result in it
DEFAULT_TARGETS: dict[str, str] = {
    "kaggle_kit/blend/selection.py": "tests/test_selection.py tests/test_blend.py",
    "kaggle_kit/blend/weighting.py": "tests/test_blend.py tests/test_selection.py",
    "kaggle_kit/runtime/scoring.py": "tests/test_blend.py tests/test_selection.py tests/test_run_scoring.py",
    "kaggle_kit/runtime/store.py": "tests/test_store.py tests/test_runner.py tests/test_resume.py -k 'not parallel'",
    "kaggle_kit/models/nn/inputs.py": (
        "tests/test_nn.py tests/test_nn_tabular.py -k 'not periodic_effects and not beats_gbdt and not "
        "learn_a_categorical and not image_files and not variants_build and not cuda and not torch'"
    ),
}

_SWAP_BINOP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Div}
_SWAP_CMP = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
_SYMBOL = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.And: "and",
    ast.Or: "or",
}


@dataclass(frozen=True)
class Mutant:
    module: str  # path relative to the repository
    index: int  # the mutant's place among all of its module's, in source order
    line: int
    what: str  # e.g. "+ -> -"

    @property
    def name(self) -> str:
        return f"{self.module}:{self.index}"


# ------------------------------------------------------------------------------------------------ the mutations
def _skipped_nodes(tree: ast.AST) -> set[int]:
    """Nodes never mutated: docstrings, annotations, and `if TYPE_CHECKING:` blocks."""
    skip: set[int] = set()

    def mark(node: ast.AST | None) -> None:
        if node is not None:
            skip.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                mark(first)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            mark(node.returns)
            for arg in [*node.args.args, *node.args.posonlyargs, *node.args.kwonlyargs]:
                mark(arg.annotation)
            mark(node.args.vararg and node.args.vararg.annotation)
            mark(node.args.kwarg and node.args.kwarg.annotation)
        if isinstance(node, ast.AnnAssign):
            mark(node.annotation)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            mark(node)
    return skip


def _generators(tree: ast.AST) -> set[int]:
    """Functions with a ``yield``: their ``return`` carries no value worth dropping."""
    found = set()
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
            isinstance(n, (ast.Yield, ast.YieldFrom)) for n in ast.walk(fn)
        ):
            found.update(id(n) for n in ast.walk(fn) if isinstance(n, ast.Return))
    return found


def _text_or_path(node: ast.BinOp) -> bool:
    """``folder / "name"`` or ``"a" + b``: swapping the operator only raises a TypeError, which any test notices."""
    return any(
        isinstance(side, ast.JoinedStr) or (isinstance(side, ast.Constant) and isinstance(side.value, str))
        for side in (node.left, node.right)
    )


def _sites(tree: ast.AST) -> Iterator[tuple[ast.AST, int, str]]:
    """(node, variant, description) for every mutation of the tree, in a fixed order."""
    skip, in_generators = _skipped_nodes(tree), _generators(tree)
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.BinOp) and type(node.op) in _SWAP_BINOP and not _text_or_path(node):
            yield node, 0, f"{_SYMBOL[type(node.op)]} -> {_SYMBOL[_SWAP_BINOP[type(node.op)]]}"
        elif isinstance(node, ast.AugAssign) and type(node.op) in _SWAP_BINOP:
            yield node, 0, f"{_SYMBOL[type(node.op)]}= -> {_SYMBOL[_SWAP_BINOP[type(node.op)]]}="
            yield node, 1, "augmented assignment deleted"
        elif isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                if type(op) in _SWAP_CMP:
                    yield node, i, f"{_SYMBOL[type(op)]} -> {_SYMBOL[_SWAP_CMP[type(op)]]}"
        elif isinstance(node, ast.BoolOp):
            yield node, 0, f"{_SYMBOL[type(node.op)]} -> {'or' if isinstance(node.op, ast.And) else 'and'}"
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            yield node, 0, "not dropped"
        elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
            yield node, 0, f"{node.value} -> {not node.value}"
        elif isinstance(node, ast.Constant) and type(node.value) in (int, float):
            yield node, 0, f"{node.value!r} -> {node.value + 1!r}"
        elif isinstance(node, ast.Return) and node.value is not None and id(node) not in in_generators:
            if not (isinstance(node.value, ast.Constant) and node.value.value is None):
                yield node, 0, "return value -> None"
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            yield node, 0, "call statement deleted"


def _apply(node: ast.AST, variant: int) -> None:
    """Mutate ``node`` in place."""
    if isinstance(node, ast.BinOp) or (isinstance(node, ast.AugAssign) and variant == 0):
        node.op = _SWAP_BINOP[type(node.op)]()
    elif isinstance(node, ast.Compare):
        node.ops[variant] = _SWAP_CMP[type(node.ops[variant])]()
    elif isinstance(node, ast.BoolOp):
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif isinstance(node, ast.UnaryOp):
        node.op = ast.UAdd()  # `+x` of a bool is the bool as an int: truthy exactly where x is
    elif isinstance(node, ast.Constant):
        node.value = (not node.value) if isinstance(node.value, bool) else node.value + 1
    elif isinstance(node, ast.Return):
        node.value = ast.Constant(None)
    elif isinstance(node, (ast.Expr, ast.AugAssign)):  # deleted: a statement that does nothing, same lines
        node.__class__ = ast.Pass
        for name in ("value", "target", "op"):
            if hasattr(node, name):
                delattr(node, name)


def mutants_of(module: str) -> list[Mutant]:
    tree = ast.parse((REPO / module).read_text())
    return [Mutant(module, i, node.lineno, what) for i, (node, _, what) in enumerate(_sites(tree))]


def mutated_source(mutant: Mutant) -> str:
    tree = ast.parse((REPO / mutant.module).read_text())
    node, variant, _ = list(_sites(tree))[mutant.index]
    _apply(node, variant)
    return ast.unparse(ast.fix_missing_locations(tree))


# ------------------------------------------------------------------------------------------------ running tests
def copy_repository(dest: Path) -> None:
    """The repository without its history, caches or run folders; the tests import this copy's package."""
    ignore = shutil.ignore_patterns(".git", "__pycache__", "*.pyc", "runs", ".ruff_cache", ".pytest_cache", "mutants")
    shutil.copytree(REPO, dest, ignore=ignore, symlinks=True)


def run_tests(workdir: Path, tests: str, timeout: float) -> tuple[str, float]:
    """'passed', 'failed' or 'timeout', and the seconds taken: pytest -x over the copy in ``workdir``."""
    env = {
        **os.environ,
        "PYTHONPATH": str(workdir),
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *shlex.split(tests)]
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return "timeout", time.perf_counter() - start
    seconds = time.perf_counter() - start
    if proc.returncode == 0:
        return "passed", seconds
    if proc.returncode in (1, 2, 3):  # a failed test, an error while collecting (a broken import), a crash
        return "failed", seconds
    tail = proc.stdout.decode(errors="replace")[-2000:]
    raise RuntimeError(f"pytest exited {proc.returncode} (not a test failure):\n{tail}")


def check_copy_is_imported(workdir: Path) -> None:
    """The tests must import the mutated copy, not the repository's package (or an installed one)."""
    out = subprocess.run(
        [sys.executable, "-c", "import kaggle_kit; print(kaggle_kit.__file__)"],
        cwd=workdir,
        env={**os.environ, "PYTHONPATH": str(workdir)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not Path(out).resolve().is_relative_to(workdir.resolve()):
        raise SystemExit(f"the copy's tests import {out}, not the copy in {workdir}")


# ------------------------------------------------------------------------------------------------ the command
def parse_targets(specs: list[str], tests: str | None) -> dict[str, str]:
    targets = {}
    for spec in specs or list(DEFAULT_TARGETS):
        module, _, selection = spec.partition("=")
        if not (REPO / module).is_file():
            raise SystemExit(f"no module {module!r} in {REPO}")
        chosen = selection or tests or DEFAULT_TARGETS.get(module)
        if not chosen:
            raise SystemExit(f"no tests for {module!r}: write {module}=TESTS, or give --tests")
        targets[module] = chosen
    return targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", help="PATH or PATH=PYTEST ARGS (default: %(default)s)")
    parser.add_argument("--tests", help="pytest arguments for targets given without their own")
    parser.add_argument("--max-mutants", type=int, default=10, help="mutants drawn per module (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="+", default=[], help="run these mutants (MODULE:INDEX) and no others")
    parser.add_argument("--timeout-factor", type=float, default=3.0, help="a mutant's limit: this x the clean run")
    parser.add_argument("--list", action="store_true", help="print the drawn mutants' changes and stop")
    args = parser.parse_args(argv)

    only = {name.rpartition(":")[0]: [] for name in args.only}
    for name in args.only:
        module, _, index = name.rpartition(":")
        only[module].append(int(index))
    targets = parse_targets(list(only) if only else args.targets, args.tests)
    rng = random.Random(args.seed)
    drawn: dict[str, list[Mutant]] = {}
    for module in targets:
        every = mutants_of(module)
        if module in only:
            drawn[module] = [every[i] for i in only[module]]
        elif args.max_mutants and len(every) > args.max_mutants:
            drawn[module] = sorted(rng.sample(every, args.max_mutants), key=lambda m: m.index)
        else:
            drawn[module] = every
        print(f"{module}: {len(every)} mutants, {len(drawn[module])} drawn; tests: {targets[module]}")
    if args.list:
        for mutant in (m for ms in drawn.values() for m in ms):
            print(f"  {mutant.name:<42} line {mutant.line:<4} {mutant.what}")
        return 0

    print(machine_line())
    started = time.perf_counter()
    results: dict[str, list[tuple[Mutant, str]]] = {}
    with tempfile.TemporaryDirectory(prefix="kk-mutation-") as tmp:
        workdir = Path(tmp) / "repo"
        copy_repository(workdir)
        check_copy_is_imported(workdir)
        for module, mutants in drawn.items():
            target = workdir / module
            original = target.read_text()
            target.write_text(ast.unparse(ast.parse(original)))  # the unparsed module, unmutated, must pass
            outcome, clean_s = run_tests(workdir, targets[module], timeout=1800)
            if outcome != "passed":
                raise SystemExit(f"the tests {targets[module]!r} do not pass on the unmutated {module}: {outcome}")
            limit = args.timeout_factor * clean_s + 10
            print(f"\n{module}: clean run {clean_s:.1f} s, limit per mutant {limit:.0f} s")
            results[module] = []
            for mutant in mutants:
                target.write_text(mutated_source(mutant))
                outcome, seconds = run_tests(workdir, targets[module], timeout=limit)
                verdict = {"passed": "SURVIVED", "failed": "killed", "timeout": "timeout"}[outcome]
                results[module].append((mutant, verdict))
                print(f"  {mutant.name:<42} line {mutant.line:<4} {mutant.what:<32} {verdict:<9} {seconds:5.1f} s")
            target.write_text(original)
    elapsed = time.perf_counter() - started
    report(results, elapsed)
    return 0


def report(results: dict[str, list[tuple[Mutant, str]]], elapsed: float) -> None:
    print(f"\n{'module':<36} {'tried':>5} {'killed':>6} {'timeout':>7} {'survived':>8} {'score':>6}")
    totals = [0, 0, 0, 0]
    for module, rows in results.items():
        counts = [len(rows), *(sum(v == k for _, v in rows) for k in ("killed", "timeout", "SURVIVED"))]
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
        print(f"{module:<36} {counts[0]:>5} {counts[1]:>6} {counts[2]:>7} {counts[3]:>8} {_score(counts):>6}")
    print(f"{'all':<36} {totals[0]:>5} {totals[1]:>6} {totals[2]:>7} {totals[3]:>8} {_score(totals):>6}")
    survivors = [(m, _line_of(m)) for rows in results.values() for m, v in rows if v == "SURVIVED"]
    print(f"\nsurvivors ({len(survivors)}):")
    for mutant, source in survivors:
        print(f"  {mutant.name:<42} line {mutant.line:<4} {mutant.what:<32} | {source}")
    print(f"\n{elapsed / 60:.1f} min; load average after: {load_average()}")


def _score(counts: list[int]) -> str:
    return f"{(counts[1] + counts[2]) / counts[0]:.0%}" if counts[0] else "-"


def _line_of(mutant: Mutant) -> str:
    return (REPO / mutant.module).read_text().splitlines()[mutant.line - 1].strip()[:70]


if __name__ == "__main__":
    sys.exit(main())
