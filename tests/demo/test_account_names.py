"""Demo account names are all distinct and never numbered like "Cobalt Schools Ltd (2)"."""

from datetime import date

import numpy as np

from demo.services.accounts import accounts_plan


def test_accounts_plan_names_are_distinct_without_numbers():
    plan = accounts_plan(np.random.default_rng(7), count=5000, days=30, as_of=date(2026, 11, 30))
    names = list(plan.name)
    assert len(set(names)) == 5000
    assert [name for name in names if "(" in name or name[-1].isdigit()] == []


def test_accounts_plan_names_repeat_with_the_seed():
    first = accounts_plan(np.random.default_rng(3), count=300, days=30, as_of=date(2026, 11, 30))
    again = accounts_plan(np.random.default_rng(3), count=300, days=30, as_of=date(2026, 11, 30))
    assert list(first.name) == list(again.name)
