import io
from decimal import Decimal

from django.core.management import CommandError, call_command

from accounts.models import Account, RenewalOutcome
from tests.accounts.factories import AccountFactory

HEADER = "external_id,name,segment,tier,region,industry,lifecycle,arr,renewal_date,owner_email\n"


def run(tmp_path, command, text):
    path = tmp_path / "file.csv"
    path.write_text(text)
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(command, str(path), "--no-progress", stdout=out, stderr=err)
    except CommandError as error:
        return str(error), err.getvalue().splitlines()
    return out.getvalue(), []


def test_import_accounts_upserts_by_external_id(tmp_path, csm):
    AccountFactory(external_id="CRM-1", name="Old name")
    out, _ = run(
        tmp_path,
        "import_accounts",
        HEADER
        + "CRM-1,New name,Enterprise,Gold,EMEA,Retail,mature,1000.50,2027-01-31,csm@example.com\n"
        + "CRM-2,Second,SMB,,,,,,,\n",
    )
    assert out == "2 rows: 1 created, 1 updated, 0 unchanged.\n"
    first = Account.objects.get(external_id="CRM-1")
    assert (first.name, first.arr, first.owner) == ("New name", Decimal("1000.50"), csm)
    second = Account.objects.get(external_id="CRM-2")
    assert (second.lifecycle, second.arr, second.owner) == ("onboarding", Decimal("0"), None)


def test_import_accounts_bad_lines_write_nothing(tmp_path, db):
    message, errors = run(
        tmp_path,
        "import_accounts",
        HEADER + "CRM-1,Fine,,,,,,,,\n" + "CRM-2,,,,,,sleeping,-1,31/01/2027,nobody@example.com\n",
    )
    assert message == "1 of 2 rows is invalid; nothing was written."
    assert errors == [
        "line 3, name: This field is required.",
        "line 3, lifecycle: Select a valid choice. sleeping is not one of the available choices.",
        "line 3, arr: Ensure this value is greater than or equal to 0.",
        "line 3, renewal_date: Enter a valid date.",
        "line 3, owner_email: No user has the email “nobody@example.com”.",
    ]
    assert Account.objects.count() == 0


def test_import_renewal_outcomes_upserts_by_account_and_date(tmp_path, account):
    text = (
        "account,renewal_date,outcome,arr_before,arr_after\n"
        f"{account.external_id},2026-06-30,downgraded,50000,30000\n"
    )
    out, _ = run(tmp_path, "import_renewal_outcomes", text)
    assert out == "1 rows: 1 created, 0 updated, 0 unchanged.\n"
    out, _ = run(tmp_path, "import_renewal_outcomes", text.replace("30000", "20000"))
    assert out == "1 rows: 0 created, 1 updated, 0 unchanged.\n"
    assert list(RenewalOutcome.objects.values_list("outcome", "arr_after")) == [
        ("downgraded", Decimal("20000.00"))
    ]


def test_import_renewal_outcomes_bad_line_names_the_field(tmp_path, account):
    message, errors = run(
        tmp_path,
        "import_renewal_outcomes",
        "account,renewal_date,outcome,arr_before,arr_after\n"
        f"{account.external_id},2026-06-30,won,50000,\n",
    )
    assert errors == [
        "line 2, outcome: Select a valid choice. won is not one of the available choices.",
        "line 2, arr_after: This field is required.",
    ]
    assert RenewalOutcome.objects.count() == 0
