"""The owners' emails when risks open or turn critical: one email per owner per evaluation,
listing their risks, and a risk in at most one email a day."""

import datetime as dt
import smtplib
import threading
import time

import pytest
import time_machine
from django.core.mail.backends import locmem
from django.db import connection, transaction
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from playbooks.models import Task
from risk import notifications, services, tasks
from risk.choices import RiskType
from risk.models import Risk
from risk.notifications import risks_notification_enqueue, risks_notify
from tests.accounts.factories import AccountFactory, CsmFactory
from tests.risk.conftest import AS_OF, open_risks, rules_only, sentiment
from tests.risk.factories import RiskFactory

pytestmark = pytest.mark.django_db

MORNING = dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.UTC)


class RefusingBackend(locmem.EmailBackend):
    """Delivers to mail.outbox like locmem, except that the server drops the connection on
    the emails to the addresses in `refusing` (as many times as counted there)."""

    refusing: dict[str, int] = {}

    def send_messages(self, messages):
        for message in messages:
            for address in message.to:
                if self.refusing.get(address, 0) > 0:
                    self.refusing[address] -= 1
                    raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


@pytest.fixture
def refusing(settings):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    RefusingBackend.refusing = {}
    return RefusingBackend.refusing


def evaluate(as_of: dt.date, capture) -> None:
    with capture(execute=True):
        services.risks_evaluate(as_of=as_of)


def owner_risk(owner, name: str, **fields) -> Risk:
    """A risk on a new account of `owner` named `name`; the risk's owner is the account's, as
    an evaluation sets it."""
    return RiskFactory(account=AccountFactory(owner=owner, name=name), owner=owner, **fields)


def test_risk_opening_emails_the_owner(
    account, mailoutbox, django_capture_on_commit_callbacks, csm
):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 25)
    with time_machine.travel(MORNING, tick=False):
        evaluate(AS_OF, django_capture_on_commit_callbacks)
    [email] = mailoutbox
    # The default low-sentiment playbook's tasks, due 2, 7 and 14 days after the evaluation.
    page = f"http://127.0.0.1:8000/accounts/{account.pk}/"
    tasks = list(Task.objects.order_by("due_on").values_list("pk", flat=True))
    assert (email.to, email.subject) == (
        ["csm@example.com"],
        f"[Healthscore] High risk on {account.name}: Low sentiment",
    )
    assert email.body == (
        f"A high risk is open on {account.name}: Low sentiment.\n"
        "Raised by rule:low_sentiment on 2026-11-20.\n\n"
        "Evidence:\n"
        "  as_of: 2026-11-20\n"
        "  sentiment_score: 25.0\n"
        "  threshold: 25.0\n"
        "  value_as_of: 2026-11-20\n"
        "\n"
        f"Open the account: {page}\n"
        "Tasks:\n"
        f"  - Call the sponsor, due 2026-11-22: {page}#task-{tasks[0]}\n"
        f"  - Agree a recovery plan, due 2026-11-27: {page}#task-{tasks[1]}\n"
        f"  - Leader review of the plan, due 2026-12-04: {page}#task-{tasks[2]}\n"
    )
    assert open_risks(account)[0].last_notified_on == dt.date(2026, 11, 20)


def test_risk_evaluation_emails_each_owner_once_from_one_task(
    account, csm, mailoutbox, django_capture_on_commit_callbacks
):
    rules_only(RiskType.LOW_SENTIMENT)
    for owned in (account, AccountFactory(owner=csm), AccountFactory(owner=csm)):
        sentiment(owned, 0)
    sentiment(AccountFactory(owner=CsmFactory(username="other"), name="Other"), 0)
    with (
        time_machine.travel(MORNING, tick=False),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        services.risks_evaluate(as_of=AS_OF)
    # One email task; the other callback fans the risk.opened events out (events/). The page
    # caches' generation bumps (healthscore.generations) are callable objects, left aside.
    names = [getattr(c, "__qualname__", type(c).__name__).split(".")[0] for c in callbacks]
    assert [name for name in names if name != "_BumpOnCommit"] == [
        "_fan_out_on_commit",
        "risks_notification_enqueue",
    ]
    assert sorted((email.to, email.subject) for email in mailoutbox) == [
        (["csm@example.com"], "[Healthscore] 3 new risks on your accounts (3 critical)"),
        (["other@example.com"], "[Healthscore] Critical risk on Other: Low sentiment"),
    ]


def test_risk_raised_again_sends_no_new_email(
    account, mailoutbox, django_capture_on_commit_callbacks
):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 25)
    with time_machine.travel(MORNING, tick=False):
        evaluate(AS_OF, django_capture_on_commit_callbacks)
    with time_machine.travel(MORNING + dt.timedelta(days=1), tick=False):
        evaluate(AS_OF + dt.timedelta(days=1), django_capture_on_commit_callbacks)
    assert len(mailoutbox) == 1


def test_risk_turning_critical_the_same_day_sends_no_second_email(
    account, mailoutbox, django_capture_on_commit_callbacks
):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 25, as_of=AS_OF - dt.timedelta(days=1))
    with time_machine.travel(MORNING, tick=False):
        evaluate(AS_OF - dt.timedelta(days=1), django_capture_on_commit_callbacks)
        sentiment(account, 0)
        evaluate(AS_OF, django_capture_on_commit_callbacks)
    assert (len(mailoutbox), open_risks(account)[0].severity) == (1, "critical")


def test_risk_turning_critical_the_next_day_emails_again(
    account, mailoutbox, django_capture_on_commit_callbacks
):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 25)
    with time_machine.travel(MORNING, tick=False):
        evaluate(AS_OF, django_capture_on_commit_callbacks)
    sentiment(account, 0, as_of=AS_OF + dt.timedelta(days=1))
    with time_machine.travel(MORNING + dt.timedelta(days=1), tick=False):
        evaluate(AS_OF + dt.timedelta(days=1), django_capture_on_commit_callbacks)
    assert [email.subject.split(" risk")[0] for email in mailoutbox] == [
        "[Healthscore] High",
        "[Healthscore] Critical",
    ]


def test_dry_run_sends_no_email(account, mailoutbox, django_capture_on_commit_callbacks):
    rules_only(RiskType.LOW_SENTIMENT)
    sentiment(account, 0)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.risks_evaluate(as_of=AS_OF, dry_run=True)
    assert (callbacks, mailoutbox) == ([], [])


def test_risks_notification_enqueue_sends_nothing_when_rolled_back(
    csm, mailoutbox, django_capture_on_commit_callbacks
):
    dropped = owner_risk(csm, "Dropped")
    kept = owner_risk(csm, "Kept")
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            risks_notification_enqueue(risks=[dropped])
            raise RuntimeError("rolled back")
        risks_notification_enqueue(risks=[kept])
    assert [email.subject for email in mailoutbox] == [
        "[Healthscore] High risk on Kept: Low sentiment"
    ]


def test_risks_notification_enqueue_keeps_each_owner_in_one_message(
    mailoutbox, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(notifications, "RISKS_PER_MESSAGE", 3)
    ann, bob, cat = (CsmFactory(username=name) for name in ("ann", "bob", "cat"))
    risks = [owner_risk(ann, "A1"), owner_risk(bob, "B1"), owner_risk(ann, "A2")]
    risks += [owner_risk(cat, f"C{n}") for n in range(4)] + [owner_risk(bob, "B2")]
    with django_capture_on_commit_callbacks(execute=True):
        risks_notification_enqueue(risks=risks)
    # Messages of at most 3: [A1, A2], [B1, B2], [C0, C1, C2], [C3]; only cat, with more
    # risks than a message holds, gets two emails.
    assert sorted((email.to[0], email.subject) for email in mailoutbox) == [
        ("ann@example.com", "[Healthscore] 2 new risks on your accounts"),
        ("bob@example.com", "[Healthscore] 2 new risks on your accounts"),
        ("cat@example.com", "[Healthscore] 3 new risks on your accounts"),
        ("cat@example.com", "[Healthscore] High risk on C3: Low sentiment"),
    ]


def test_risks_notify_one_owner_gets_one_email_most_severe_first(csm, mailoutbox):
    risks = [
        owner_risk(csm, "Acme", evidence={"sentiment_score": 25.0}),
        owner_risk(
            csm,
            "Beta",
            risk_type="score_drop",
            severity="critical",
            raised_by="rule:score_drop",
            evidence={"drop": 20.0, "window_days": 30},
        ),
        owner_risk(csm, "Acme 2", risk_type="no_sponsor", severity="medium", raised_by="Dana"),
    ]
    sent = risks_notify(risk_ids=[risk.pk for risk in risks], today=AS_OF)
    [email] = mailoutbox

    def page(risk):
        return f"http://127.0.0.1:8000/accounts/{risk.account_id}/"

    assert (sent, email.to, email.subject) == (
        1,
        ["csm@example.com"],
        "[Healthscore] 3 new risks on your accounts (1 critical)",
    )
    assert email.body == (
        "3 risks on your accounts need your attention, most severe first.\n"
        "\n"
        "Critical risk on Beta: Score drop\n"
        "  Raised by rule:score_drop on 2026-11-01.\n"
        "  Evidence:\n"
        "    drop: 20.0\n"
        "    window_days: 30\n"
        f"  Open the account: {page(risks[1])}\n"
        "\n"
        "High risk on Acme: Low sentiment\n"
        "  Raised by rule:low_sentiment on 2026-11-01.\n"
        "  Evidence:\n"
        "    sentiment_score: 25.0\n"
        f"  Open the account: {page(risks[0])}\n"
        "\n"
        "Medium risk on Acme 2: No sponsor\n"
        "  Raised by Dana on 2026-11-01.\n"
        "  Evidence:\n"
        "    (none)\n"
        f"  Open the account: {page(risks[2])}\n"
    )
    assert set(Risk.objects.values_list("last_notified_on", flat=True)) == {AS_OF}


def test_risks_notify_two_owners_get_one_email_each(mailoutbox):
    ann, bob = CsmFactory(username="ann"), CsmFactory(username="bob")
    risks = [owner_risk(ann, "A1"), owner_risk(bob, "B1"), owner_risk(ann, "A2")]
    sent = risks_notify(risk_ids=[risk.pk for risk in risks], today=AS_OF)
    assert (sent, sorted((email.to[0], email.subject) for email in mailoutbox)) == (
        2,
        [
            ("ann@example.com", "[Healthscore] 2 new risks on your accounts"),
            ("bob@example.com", "[Healthscore] High risk on B1: Low sentiment"),
        ],
    )


def test_risks_notify_twice_the_same_day_sends_nothing_the_second_time(csm, mailoutbox):
    risk_ids = [owner_risk(csm, "Acme").pk, owner_risk(csm, "Beta").pk]
    sent = [
        risks_notify(risk_ids=risk_ids, today=AS_OF),
        risks_notify(risk_ids=risk_ids, today=AS_OF),
    ]
    assert (sent, len(mailoutbox)) == ([1, 0], 1)


def test_risks_notify_the_next_day_emails_again(csm, mailoutbox):
    risk_ids = [owner_risk(csm, "Acme").pk]
    risks_notify(risk_ids=risk_ids, today=AS_OF)
    sent = risks_notify(risk_ids=risk_ids, today=AS_OF + dt.timedelta(days=1))
    assert (sent, len(mailoutbox)) == (1, 2)


@pytest.mark.parametrize(
    "risk_fields",
    [
        {"account__owner": None},
        {"account__owner__email": ""},
        {"status": "resolved"},
        {"status": "wont_fix"},
    ],
    ids=["no owner", "owner without email", "resolved", "closed as won't fix"],
)
def test_risks_notify_skips_a_risk_nobody_can_be_emailed_about(csm, mailoutbox, risk_fields):
    skipped = RiskFactory(**risk_fields)
    emailed = owner_risk(csm, "Acme")
    sent = risks_notify(risk_ids=[skipped.pk, emailed.pk], today=AS_OF)
    assert (sent, [email.subject for email in mailoutbox]) == (
        1,
        ["[Healthscore] High risk on Acme: Low sentiment"],
    )
    skipped.refresh_from_db()
    assert skipped.last_notified_on is None


def test_risks_notify_failing_gives_back_only_that_owners_day(refusing, mailoutbox):
    ann, bob = CsmFactory(username="ann"), CsmFactory(username="bob")
    earlier = AS_OF - dt.timedelta(days=5)
    never, before, others = (
        owner_risk(ann, "A1"),
        owner_risk(ann, "A2", last_notified_on=earlier),
        owner_risk(bob, "B1"),
    )
    refusing["ann@example.com"] = 1
    with pytest.raises(smtplib.SMTPServerDisconnected):
        risks_notify(risk_ids=[never.pk, before.pk, others.pk], today=AS_OF)
    assert [email.to for email in mailoutbox] == [["bob@example.com"]]
    assert list(
        Risk.objects.order_by("account__name").values_list("last_notified_on", flat=True)
    ) == [None, earlier, AS_OF]


def test_risks_notify_task_retries_only_the_failed_email(refusing, mailoutbox):
    ann, bob = CsmFactory(username="ann"), CsmFactory(username="bob")
    risk_ids = [owner_risk(ann, "A1").pk, owner_risk(bob, "B1").pk]
    refusing["ann@example.com"] = 1
    # Inline, unpropagated: Celery runs the retry at once instead of raising Retry.
    result = tasks.risks_notify.apply(args=[risk_ids], throw=False)
    assert (result.state, result.result) == ("SUCCESS", 1)
    assert sorted(email.to[0] for email in mailoutbox) == ["ann@example.com", "bob@example.com"]
    assert set(Risk.objects.values_list("last_notified_on", flat=True)) == {timezone.localdate()}


def test_risks_notify_queries_do_not_grow_with_the_risks(mailoutbox):
    owners = [CsmFactory(username=f"owner{n}") for n in range(3)]

    def queries(risks: int) -> int:
        risk_ids = [owner_risk(owners[n % 3], f"Account {n}").pk for n in range(risks)]
        with CaptureQueriesContext(connection) as captured:
            risks_notify(risk_ids=risk_ids, today=AS_OF)
        return len(captured)

    # A savepoint, the locking read, the claiming update, the release, and the risks' tasks
    # (for their links): 5 for 3 or 30 risks.
    assert (queries(3), queries(30), len(mailoutbox)) == (5, 5, 6)


def test_risks_notify_two_workers_at_once_send_one_email(
    postgres_transactional, mailoutbox, monkeypatch
):
    csm = CsmFactory(username="csm")
    risk_ids = [owner_risk(csm, "Acme").pk, owner_risk(csm, "Beta").pk]
    # Both workers start together, and whichever claims first waits between reading and
    # updating: without the row locks the other would read the same risks and email too.
    barrier = threading.Barrier(2, timeout=30)
    update = QuerySet.update

    def slow_update(queryset, **fields):
        if queryset.model is Risk:
            time.sleep(0.3)
        return update(queryset, **fields)

    monkeypatch.setattr(QuerySet, "update", slow_update)
    sent: list[int] = []
    errors: list[Exception] = []

    def worker() -> None:
        try:
            barrier.wait()
            sent.append(risks_notify(risk_ids=risk_ids, today=AS_OF))
        except Exception as error:  # reported by the test, not lost in the thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert (errors, sorted(sent), len(mailoutbox)) == ([], [0, 1], 1)


def test_risk_email_links_to_the_account_page_and_its_tasks(settings, db):
    import datetime as _dt

    from django.core import mail

    from playbooks.models import Task
    from risk.notifications import risks_notify
    from tests.risk.factories import RiskFactory

    settings.SITE_URL = "https://hs.example.com"
    risk = RiskFactory()
    task = Task.objects.create(
        account=risk.account, risk=risk, title="Call the sponsor", due_on=_dt.date(2026, 11, 22)
    )
    risks_notify(risk_ids=[risk.pk], today=_dt.date(2026, 11, 20))
    body = mail.outbox[-1].body
    page = f"https://hs.example.com/accounts/{risk.account_id}/"
    assert (
        f"Open the account: {page}" in body,
        f"due 2026-11-22: {page}#task-{task.pk}" in body,
    ) == (
        True,
        True,
    )
