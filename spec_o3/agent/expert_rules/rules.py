"""Ordered rule tables: the expert's decisions written as data, apart from the measuring code.

A rule table is read from a YAML file (the built-in tasks' tables live in ``spec_o3/data/rules/``;
user task files use the same format). It holds named thresholds, each with its literature source,
and an ordered list of rules. A rule is a condition on named measurements ("facts"), the verdict it
gives, the evidence sentence written from the facts, and the source of the criterion. The first
rule whose condition holds decides, as an astronomer's decision tree reads top to bottom::

    thresholds:
      dq_colour: {value: 0.7, reference: "Dufour et al. 2005, ApJ 627, 404"}
    rules:
      - name: dq_white_dwarf
        when: c2_seen and colour > dq_colour and not cn_present
        verdict: "NO"
        evidence: "C2 alone in a warm continuum ({colour:.2f}): a DQ white dwarf."
        reference: "Dufour et al. 2005, ApJ 627, 404"

Conditions are Python-like boolean expressions over fact and threshold names: comparisons,
``and``/``or``/``not``, arithmetic, numbers, strings and the functions ``abs``, ``min``, ``max``
and ``len``. Anything else (attribute access, other calls, subscripts) is refused when the table is
loaded, so a task file cannot run code. Evidence templates are `str.format` templates over the same
names.
"""

import ast
import operator
import string
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import yaml

#: PyYAML's safe loader, in C where libyaml is built in: ten times faster (every worker process
#: of a catalogue run reads the five tables).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

__all__ = ["Decision", "Rule", "RuleTable", "Threshold", "builtin_rule_table"]

VERDICTS = ("YES", "NO")

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_COMPARE = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_FUNCTIONS = {"abs": abs, "min": min, "max": max, "len": len}


class _Condition:
    """A boolean expression over named facts, checked once, then compiled into nested functions
    (one per node of its syntax tree) and evaluated without `eval`."""

    def __init__(self, text, where):
        self.text = str(text)
        try:
            tree = ast.parse(self.text, mode="eval").body
        except SyntaxError as error:
            raise ValueError(
                f"{where}: cannot parse condition {self.text!r}: {error.msg}"
            ) from None
        self.names = frozenset()
        self._check(tree, where)
        self._evaluate = _compile(tree)

    def __getstate__(self):
        # Worker processes get the tables pickled; compiled functions do not pickle: the text does.
        return {"text": self.text, "names": self.names}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._evaluate = _compile(ast.parse(self.text, mode="eval").body)

    def _check(self, node, where):
        names = set()
        for child in ast.walk(node):
            if isinstance(child, ast.Name):
                names.add(child.id)
            elif isinstance(child, ast.Call):
                if not (isinstance(child.func, ast.Name) and child.func.id in _FUNCTIONS):
                    raise ValueError(
                        f"{where}: condition {self.text!r} calls something other than "
                        f"{', '.join(_FUNCTIONS)}"
                    )
                if child.keywords:
                    raise ValueError(f"{where}: condition {self.text!r} passes keyword arguments")
            elif not isinstance(
                child,
                ast.BoolOp
                | ast.UnaryOp
                | ast.BinOp
                | ast.Compare
                | ast.Constant
                | ast.Tuple
                | ast.Load
                | ast.And
                | ast.Or
                | ast.Not
                | ast.USub
                | ast.operator
                | ast.cmpop,
            ) or (isinstance(child, ast.BinOp) and type(child.op) not in _BINARY):
                raise ValueError(
                    f"{where}: condition {self.text!r} uses {type(child).__name__}, which rule "
                    "conditions do not allow"
                )
        self.names = frozenset(names - set(_FUNCTIONS))

    def __call__(self, facts, comparisons=None, thresholds=frozenset()):
        """Whether the condition holds for ``facts``; the numeric comparisons with one of the
        ``thresholds`` made on the way are appended to ``comparisons`` as ``(left, right)``."""
        record = [] if comparisons is None else comparisons
        return bool(self._evaluate(facts, record, thresholds))


def _compile(node):
    """A function ``(facts, comparisons, thresholds) -> value`` that evaluates the checked syntax
    tree ``node`` as Python would (short-circuits included), recording the numeric comparisons
    that read one of the ``thresholds`` (see `_Condition.__call__`)."""
    if isinstance(node, ast.Constant):
        value = node.value
        return lambda facts, comparisons, thresholds: value
    if isinstance(node, ast.Name):
        name = node.id
        return lambda facts, comparisons, thresholds: facts[name]
    if isinstance(node, ast.BoolOp):
        values = [_compile(value) for value in node.values]
        # Loops rather than all()/any() over a generator: the same short-circuit, without making
        # a generator on every evaluation.
        if isinstance(node.op, ast.And):

            def conjunction(*args):
                for value in values:
                    if not value(*args):
                        return False
                return True

            return conjunction

        def disjunction(*args):
            for value in values:
                if value(*args):
                    return True
            return False

        return disjunction
    if isinstance(node, ast.UnaryOp):
        operand = _compile(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda *args: not operand(*args)
        return lambda *args: -operand(*args)
    if isinstance(node, ast.BinOp):
        operation, left, right = _BINARY[type(node.op)], _compile(node.left), _compile(node.right)
        return lambda *args: operation(left(*args), right(*args))
    if isinstance(node, ast.Tuple):
        elements = [_compile(element) for element in node.elts]
        return lambda *args: tuple(element(*args) for element in elements)
    if isinstance(node, ast.Call):
        function, arguments = _FUNCTIONS[node.func.id], [_compile(arg) for arg in node.args]
        return lambda *args: function(*(argument(*args) for argument in arguments))
    return _compile_comparison(node)


def _compile_comparison(node):
    """`_compile` of a (chained) comparison; only comparisons with a threshold measure a margin."""
    first = _compile(node.left)
    steps = [
        (_COMPARE[type(op)], _compile(comparator))
        for op, comparator in zip(node.ops, node.comparators, strict=True)
    ]
    names = frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name))

    def compare(facts, comparisons, thresholds):
        with_threshold = not names.isdisjoint(thresholds)
        left = first(facts, comparisons, thresholds)
        for operation, comparator in steps:
            right = comparator(facts, comparisons, thresholds)
            if with_threshold and _is_number(left) and _is_number(right):
                comparisons.append((float(left), float(right)))
            if not operation(left, right):
                return False
            left = right
        return True

    return compare


def _is_number(value):
    return isinstance(value, int | float | np.number) and not isinstance(value, bool | np.bool_)


def _margin(comparisons):
    """How far the closest numeric comparison was from going the other way, relative to the
    threshold it compared with (0: on the boundary; capped at 1); 1 when there was none."""
    distances = [
        abs(left - right) / max(abs(right), abs(left), 1e-6)
        for left, right in comparisons
        if np.isfinite(left) and np.isfinite(right)
    ]
    return min([1.0, *distances])


@dataclass(frozen=True)
class Threshold:
    """A named number a rule compares a measurement with, and where it comes from."""

    name: str
    value: float
    reference: str = ""


@dataclass(frozen=True)
class Rule:
    """One line of a decision table: when ``when`` holds, ``verdict`` follows, because ``evidence``.

    Parameters
    ----------
    name : str
        Identifier of the rule, e.g. ``"dq_white_dwarf"``; recorded with the decision.
    when : str
        Condition over fact and threshold names (see the module documentation).
    verdict : {"YES", "NO"}
        The answer the rule gives.
    evidence : str
        `str.format` template of the sentence that justifies the verdict.
    reference : str, optional
        Literature source of the criterion.
    """

    name: str
    when: _Condition
    verdict: str
    evidence: str
    reference: str = ""


@dataclass(frozen=True)
class Decision:
    """The rule that decided, its verdict and its evidence written out.

    ``margin`` says how close the decision was: the smallest relative distance between a
    measurement and the threshold it was compared with, over the comparisons with a named
    threshold in the rules tried (0: on a boundary; 1: far from every one, or there was none).
    """

    rule: Rule
    verdict: str
    evidence: str
    margin: float = 1.0


class RuleTable:
    """An ordered decision table: thresholds with sources, then rules read top to bottom.

    Parameters
    ----------
    rules : sequence of `Rule`
        The rules in the order they are tried; the last should be a default (``when: "True"``).
    thresholds : sequence of `Threshold`, optional
        Named numbers the conditions and the measuring code use.
    source : str, optional
        Where the table was read from, named in error messages.

    Examples
    --------
    >>> table = RuleTable.from_dict({
    ...     "thresholds": {"deep": {"value": 0.2, "reference": "made up for this example"}},
    ...     "rules": [
    ...         {"name": "band", "when": "depth > deep", "verdict": "YES",
    ...          "evidence": "The band is {depth:.2f} deep."},
    ...         {"name": "no_band", "when": "True", "verdict": "NO",
    ...          "evidence": "No band ({depth:.2f})."},
    ...     ],
    ... })
    >>> decision = table.decide({"depth": 0.35})
    >>> decision.rule.name, decision.verdict, decision.evidence
    ('band', 'YES', 'The band is 0.35 deep.')
    """

    def __init__(self, rules, thresholds=(), source="rule table"):
        self.rules = tuple(rules)
        self.thresholds = {t.name: t for t in thresholds}
        self.source = source
        if not self.rules:
            raise ValueError(f"{source}: a rule table needs at least one rule")
        read = (rule.when.names | _template_names(rule.evidence) for rule in self.rules)
        names = set().union(*read)
        self._threshold_names = frozenset(self.thresholds)
        self._threshold_values = {name: t.value for name, t in self.thresholds.items()}
        self._fact_names = frozenset(names - self._threshold_names)
        clashes = {t for t in self.thresholds if t in _FUNCTIONS}
        if clashes:
            raise ValueError(f"{source}: thresholds may not be called {', '.join(sorted(clashes))}")

    def __getitem__(self, name):
        """The value of the threshold ``name``."""
        try:
            return self.thresholds[name].value
        except KeyError:
            raise KeyError(f"{self.source} has no threshold {name!r}") from None

    @property
    def fact_names(self):
        """Names the conditions and evidence read that are not thresholds: what the measuring
        code supplies."""
        return self._fact_names

    def decide(self, facts):
        """The first rule whose condition holds for ``facts`` (a mapping of names to values).

        Raises
        ------
        KeyError
            If a condition or template names a fact that ``facts`` does not hold (checked for
            every rule on every call, not only for the rules reached).
        ValueError
            If no rule applies.
        """
        namespace = self._threshold_values | dict(facts)
        missing = self._fact_names.difference(namespace)
        if missing:
            raise KeyError(f"{self.source}: no measurement called {', '.join(sorted(missing))}")
        comparisons = []
        for rule in self.rules:  # every name they read is in the namespace (checked above)
            if rule.when(namespace, comparisons, self._threshold_names):
                evidence = _fill(rule, namespace, self.source)
                return Decision(rule, rule.verdict, evidence, _margin(comparisons))
        raise ValueError(f"{self.source}: no rule applies; end the table with a default rule")

    @classmethod
    def from_dict(cls, table, source="rule table"):
        """Build a table from its parsed YAML form (``thresholds`` mapping, ``rules`` list)."""
        thresholds = []
        for name, entry in (table.get("thresholds") or {}).items():
            entry = entry if isinstance(entry, dict) else {"value": entry}
            try:
                value = float(entry["value"])
            except (KeyError, TypeError, ValueError):
                raise ValueError(f"{source}: threshold {name!r} needs a numeric value") from None
            thresholds.append(Threshold(name, value, str(entry.get("reference", ""))))
        rules = []
        for number, entry in enumerate(table.get("rules") or [], start=1):
            if not isinstance(entry, dict):
                raise ValueError(f"{source}: rule {number} is not a mapping")
            name = str(entry.get("name", f"rule {number}"))
            where = f"{source}, rule {name!r}"
            missing = [key for key in ("when", "verdict", "evidence") if key not in entry]
            if missing:
                raise ValueError(f"{where}: missing {', '.join(missing)}")
            verdict = str(entry["verdict"]).upper()
            if verdict not in VERDICTS:
                raise ValueError(f"{where}: verdict must be YES or NO, not {entry['verdict']!r}")
            _check_template(str(entry["evidence"]), where)
            condition = _Condition("True" if entry["when"] is True else entry["when"], where)
            rules.append(
                Rule(
                    name,
                    condition,
                    verdict,
                    str(entry["evidence"]),
                    str(entry.get("reference", "")),
                )
            )
        return cls(rules, thresholds, source)

    @classmethod
    def read(cls, path):
        """Read a rule table from a YAML file (its ``thresholds`` and ``rules`` keys)."""
        path = Path(path)
        try:
            table = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
        except yaml.YAMLError as error:
            raise ValueError(f"{path}: not valid YAML: {error}") from None
        if not isinstance(table, dict):
            raise ValueError(f"{path}: a rule table is a mapping with 'thresholds' and 'rules'")
        return cls.from_dict(table, source=str(path))


def _template_names(template):
    """The names a `str.format` template reads (``{colour:.2f}`` reads ``colour``)."""
    return {
        field.split(".")[0].split("[")[0]
        for _, field, _, _ in string.Formatter().parse(template)
        if field
    }


def _check_template(template, where):
    try:
        list(string.Formatter().parse(template))
    except ValueError as error:
        raise ValueError(f"{where}: evidence template {template!r}: {error}") from None


def _fill(rule, namespace, source):
    try:
        return rule.evidence.format_map(namespace)
    except KeyError as error:
        raise KeyError(
            f"{source}, rule {rule.name!r}: the evidence names {error.args[0]!r}, which was not "
            "measured"
        ) from None


@cache
def builtin_rule_table(task_id):
    """The rule table shipped for a built-in task (``spec_o3/data/rules/<task_id>.yaml``)."""
    resource = resources.files("spec_o3.data").joinpath("rules", f"{task_id}.yaml")
    with resources.as_file(resource) as path:
        return RuleTable.read(path)
