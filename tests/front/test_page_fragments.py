"""Page fragments (front/fragments.py) on a real Redis cache: a page served from the cache
renders only its layout, each part shows a write that changes it on the next load, and no
cached HTML holds a CSRF token."""

import datetime as dt
import pickle
import re

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from front.fragments import CSRF_PLACEHOLDER
from front.services import saved_view_delete, saved_view_save
from playbooks.models import Task
from playbooks.services import task_complete, task_skip, tasks_create_for_risks
from risk.choices import RiskStatus, RiskType
from risk.services import risk_transition
from scorecards.models import Measure
from tests.accounts.factories import AccountFactory, ContactFactory, UserFactory
from tests.front.conftest import adoption_account, score_day, today
from tests.front.test_page_cache import redis_cache  # noqa: F401 (autouse: Redis)
from tests.risk.factories import RiskFactory

pytestmark = pytest.mark.django_db
DASHBOARD = "/dashboard/"
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def login(user, **options) -> Client:
    client = Client(**options)
    client.force_login(user)
    return client


def html(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def rendered(client, url: str) -> list[str]:
    """The templates a load rendered."""
    return [template.name for template in client.get(url).templates]


@pytest.fixture
def task(account):
    """An overdue task of the CSM's, on an open risk of their account."""
    return Task.objects.create(
        account=account,
        risk=RiskFactory(account=account),
        title="Call the sponsor",
        due_on=today() - dt.timedelta(days=1),
        assignee=account.owner,
    )


def my_tasks_count(page: str) -> str:
    return re.search(r'id="my-tasks-count">(\d+)<', page).group(1)


def test_cached_pages_render_only_their_layout(csm, leader, task):
    adoption_account(csm, 0.4, today())
    score_day(today())
    csm_client, leader_client = login(csm), login(leader)
    account_url = reverse("front:account-detail", args=[task.account_id])
    for client, url in ((csm_client, DASHBOARD), (csm_client, account_url)):
        client.get(url)  # the first view fits the renewal likelihood (a write)
    loads = [(csm_client, DASHBOARD), (csm_client, account_url), (leader_client, "/portfolio/")]
    computed = [rendered(client, url) for client, url in loads]
    cached = [rendered(client, url) for client, url in loads]
    assert "front/partials/_account_table.html" in computed[0]
    assert cached == [
        ["front/dashboard.html", "base.html"],
        ["front/account_detail.html", "base.html"],
        ["front/portfolio.html", "base.html"],
    ]


def test_cached_account_page_takes_three_queries(csm, task, django_assert_num_queries):
    client = login(csm)
    url = reverse("front:account-detail", args=[task.account_id])
    client.get(url)
    client.get(url)
    # The user, the user's groups and the account (the 404 check); the session and every
    # part, the user's own risks and tasks too, come from the cache.
    with django_assert_num_queries(3):
        client.get(url)


def test_dashboard_my_tasks_shows_a_skipped_task_on_the_next_load(csm, task):
    client = login(csm)
    assert my_tasks_count(html(client, DASHBOARD)) == "1"
    # A queryset update (no signal) that leaves the risk as it is.
    task_skip(task=task, user=csm, note="Not needed")
    assert my_tasks_count(html(client, DASHBOARD)) == "0"


def test_dashboard_my_tasks_shows_the_tasks_an_evaluation_made_on_the_next_load(csm, account):
    risk = RiskFactory(account=account, risk_type=RiskType.LOW_SENTIMENT)
    client = login(csm)
    assert my_tasks_count(html(client, DASHBOARD)) == "0"
    tasks_create_for_risks(risk_ids=[risk.pk], today=today())  # bulk: no signal
    # The low-sentiment playbook: "Call the sponsor" in 2 days is due this week; "Agree a
    # recovery plan" in 7 days is not, and the leader's step has no leader to go to.
    page = html(client, DASHBOARD)
    assert (my_tasks_count(page), "Call the sponsor" in page) == ("1", True)


def test_dashboard_risk_inbox_shows_a_risk_move_on_the_next_load(csm, account):
    risk = RiskFactory(account=account)
    client = login(csm)
    inbox = re.compile(r'Risk inbox <span class="count">(\d+)</span>')
    assert inbox.search(html(client, DASHBOARD)).group(1) == "1"
    risk_transition(risk=risk, to_status=RiskStatus.RESOLVED, user=csm, note="Sorted")
    assert inbox.search(html(client, DASHBOARD)).group(1) == "0"


def test_dashboard_saved_views_show_a_save_and_a_delete_on_the_next_load(csm):
    client = login(csm)
    assert 'data-testid="saved-views"' not in html(client, DASHBOARD)
    view = saved_view_save(user=csm, name="At risk", query="tier=at_risk")
    assert '?tier=at_risk">At risk</a>' in html(client, DASHBOARD)
    saved_view_delete(user=csm, pk=view.pk)
    assert 'data-testid="saved-views"' not in html(client, DASHBOARD)


def test_dashboard_filter_form_offers_a_new_segment_on_the_next_load(csm):
    AccountFactory(owner=csm, segment="SMB")
    client = login(csm)
    assert '<option value="Mid-market">' not in html(client, DASHBOARD)
    AccountFactory(owner=csm, segment="Mid-market")
    assert '<option value="Mid-market">' in html(client, DASHBOARD)


def test_dashboard_parts_are_keyed_by_the_query_string(csm):
    AccountFactory.create_batch(3, owner=csm)
    client = login(csm)
    page = html(client, f"{DASHBOARD}?sort=name")
    other = html(client, f"{DASHBOARD}?sort=-name")
    # The sort header links and the filter form's hidden state follow each query.
    assert ('name="sort" value="name"' in page, 'name="sort" value="-name"' in other) == (
        True,
        True,
    )


def test_account_page_shows_a_task_done_in_its_tasks_and_risks_on_the_next_load(csm, task):
    client = login(csm)
    url = reverse("front:account-detail", args=[task.account_id])
    page = html(client, url)
    assert ('value="done"' in page, '<span class="status">Open</span>' in page) == (True, True)
    task_complete(task=task, user=csm, note="Called")  # moves the risk to mitigating
    page = html(client, url)
    assert (
        'value="done"' in page,
        '<span class="status">Done</span>' in page,
        '<span class="status">Mitigating</span>' in page,
    ) == (False, True, True)


def test_relationship_form_offers_a_contact_added_since_the_page_was_cached(csm, account):
    client = login(csm)
    html(client, reverse("front:account-detail", args=[account.pk]))  # the page cached
    form = reverse("front:relationship-form", args=[account.pk, "touchpoint"])
    assert "No active contact." in html(client, form)
    ContactFactory(account=account, name="Ada Sponsor")
    page = html(client, form)
    assert ("No active contact." in page, "Ada Sponsor</label>" in page) == (False, True)


def test_account_page_shows_a_renamed_measure_on_the_next_load(csm):
    account = adoption_account(csm, 0.6, today())
    score_day(today())
    client = login(csm)
    url = reverse("front:account-detail", args=[account.pk])
    assert "Product adoption" not in html(client, url)
    measure = Measure.objects.get(key="adoption")
    measure.name = "Product adoption"
    measure.save()
    assert "Product adoption" in html(client, url)


def test_sentiment_form_cached_once_posts_to_each_accounts_own_address(csm):
    """One cached form for every account; each page's form posts to its own account."""
    first, second = AccountFactory(owner=csm), AccountFactory(owner=csm)
    client = login(csm)
    for account in (first, second):
        response = client.get(reverse("front:account-detail", args=[account.pk]))
        page = response.content.decode()
        address = reverse("front:account-sentiment", args=[account.pk])
        assert page.count(f'action="{address}"') == 1
        assert page.count(f'hx-post="{address}"') == 1
        assert "per-response-" not in page
    # The second page took the form from the cache.
    assert "front/partials/_sentiment_form.html" not in [t.name for t in response.templates]


def test_account_page_risk_actions_are_each_users_own(csm, account):
    RiskFactory(account=account)
    integration = UserFactory(username="warehouse", role="Integration")
    url = reverse("front:account-detail", args=[account.pk])
    pages = [html(login(user), url) for user in (csm, integration, csm)]
    # The owner may move the risk; an integration sees the account but may not.
    assert ['class="risk-actions"' in page for page in pages] == [True, False, True]


def test_a_refused_risk_move_shows_its_error_once(csm, account):
    risk = RiskFactory(account=account)
    client = login(csm)
    url = reverse("front:account-detail", args=[account.pk])
    html(client, url)  # cached before the refusal
    move = reverse("front:risk-transition", args=[risk.pk])
    refused = client.post(move, {"to_status": "resolved", "note": ""}).content.decode()
    error = "A note is required to move a risk to resolved."
    assert (error in refused, error in html(client, url)) == (True, False)


def test_portfolio_shows_a_skipped_task_on_the_next_load(csm, leader, task):
    client = login(leader)
    row = '<td class="num">1</td><td class="num">1</td>'  # open, overdue
    assert row in html(client, "/portfolio/")
    task_skip(task=task, user=csm, note="Not needed")
    page = html(client, "/portfolio/")
    assert (row in page, "No open task." in page) == (False, True)


def test_cached_parts_hold_no_csrf_token_and_each_response_its_own(csm, account):
    url = reverse("front:account-detail", args=[account.pk])
    first, second = (login(csm, enforce_csrf_checks=True) for _ in range(2))  # two sessions
    html(first, url)  # the sentiment form is cached here, keyed by the account only
    response = second.get(url)
    page = response.content.decode()
    assert "front/partials/_sentiment_form.html" not in [t.name for t in response.templates]
    (token,) = re.findall(r'id="sentiment"[^$]*?name="csrfmiddlewaretoken" value="([^"]+)"', page)
    stored = _cached_html()
    assert (CSRF_PLACEHOLDER in page, any(token in value for value in stored)) == (False, False)
    # Every form of the cached parts holds the placeholder, not a token.
    assert {value for value in TOKEN.findall("".join(stored))} == {CSRF_PLACEHOLDER}
    # The token the cached form came with is the second session's own: the form posts.
    response = second.post(
        reverse("front:account-sentiment", args=[account.pk]),
        {"score": "4", "comment": "", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302


def _cached_html() -> list[str]:
    """Every cached fragment's HTML, read from Redis."""
    client = cache._cache.get_client()
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    values = []
    for key in client.scan_iter(f"{prefix}:*fragment*"):
        (value,) = pickle.loads(client.get(key))
        values.append(str(value))
    assert values
    return values
