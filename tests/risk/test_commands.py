"""manage.py evaluate_risks [--date D] [--dry-run]"""

import pytest
from django.core.management import call_command

from accounts.models import ContactChange
from risk.models import Risk, RiskEvent
from tests.accounts.factories import AccountFactory, ContactFactory
from tests.risk.conftest import AS_OF, sentiment

pytestmark = pytest.mark.django_db

EXPECTED_TABLE = """\
type                    firing   new  cleared  resolved   open
low_sentiment                1     1        0         0      1
score_drop                   0     0        0         0      0
turned_red                   0     0        0         0      0
sponsor_left                 1     1        0         0      1
no_sponsor                   2     2        0         0      2
sponsor_disengaged           0     0        0         0      0
renewal_at_risk              0     0        0         0      0
single_threaded              2     2        0         0      2
sentiment_divergence         0     0        0         0      0
"""


@pytest.fixture
def portfolio(db):
    """Two accounts without sponsors or touchpoints; one with a sentiment of 0 and an
    executive sponsor who left (entered directly, as an import would)."""
    first, second = AccountFactory(), AccountFactory()
    sentiment(first, 0)
    ContactFactory(account=first, role="executive_sponsor", is_active=False, left_on=AS_OF)
    return first, second


def test_evaluate_risks_dry_run_prints_the_counts(portfolio, capsys):
    call_command("evaluate_risks", "--date", "2026-11-20", "--dry-run")
    assert capsys.readouterr().out == (
        "Risks on 2026-11-20 over 2 accounts (dry run: nothing written):\n"
        + EXPECTED_TABLE
        + "6 risks firing; would raise 6 new; 6 open.\n"
    )


def test_evaluate_risks_dry_run_writes_nothing(portfolio):
    call_command("evaluate_risks", "--date", "2026-11-20", "--dry-run")
    assert (Risk.objects.count(), RiskEvent.objects.count(), ContactChange.objects.count()) == (
        0,
        0,
        0,
    )


def test_evaluate_risks_writes_the_risks(portfolio, capsys):
    call_command("evaluate_risks", "--date", "2026-11-20")
    assert capsys.readouterr().out.splitlines()[-1] == "6 risks firing; raised 6 new; 6 open."
    assert Risk.objects.count() == 6
