"""Checks that a built-in task's rule table is whole: every rule decides some spectrum, and the
rules read only what the task's measuring code supplies.

With ``and``/``or`` a condition stops at its first false term, so a rule can name a fact that is
never measured and still pass on every spectrum tried; `assert_reads_only_measured_facts`
compares the names with the facts themselves.
"""

import string

from spec_o3.agent.expert_rules import assess
from spec_o3.agent.expert_rules.toolkit import decide

#: Facts `~spec_o3.agent.expert_rules.toolkit.decide` adds to those a task measures.
_ADDED_BY_DECIDE = {"min_snr", "too_noisy"}


def assert_table_is_sound(table, cases):
    """The rules are those of ``cases`` in its order, every threshold cites a source and the last
    rule is the default."""
    assert [rule.name for rule in table.rules] == list(cases)
    assert all(threshold.reference for threshold in table.thresholds.values())
    assert table.rules[-1].when({})


def assert_rule_decides(task, rule, spectrum, redshift=0.0):
    """``rule`` is the rule that decides ``spectrum`` for ``task``."""
    assessment = assess(spectrum, task, redshift)
    assert assessment.rule == rule, assessment.conclusion


def assert_reads_only_measured_facts(monkeypatch, module, task, spectrum, redshift=0.0):
    """Every name the conditions and evidence templates of ``module.RULES`` read is a threshold
    or a fact that ``module``, assessing ``spectrum`` for ``task``, hands to `decide`."""
    facts = {}

    def recording(book, table, overview, measured, noisy_region):
        facts.update(measured)
        return decide(book, table, overview, measured, noisy_region)

    monkeypatch.setattr(module, "decide", recording)
    assess(spectrum, task, redshift)
    table = module.RULES
    fields = {
        field.split(".")[0].split("[")[0]
        for rule in table.rules
        for _, field, _, _ in string.Formatter().parse(rule.evidence)
        if field
    }
    assert table.fact_names | fields <= facts.keys() | table.thresholds.keys() | _ADDED_BY_DECIDE
