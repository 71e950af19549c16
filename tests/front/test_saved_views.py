import pytest
from django.urls import reverse

from front.models import SavedView
from front.services import saved_view_query_clean

pytestmark = pytest.mark.django_db


def test_saved_view_query_clean_keeps_only_the_filters_that_filter():
    query = "page=3&sort=score&per_page=25&tier=at_risk&tier=watch&owner=4&utm=x&q="
    assert saved_view_query_clean(query) == "tier=at_risk&tier=watch&owner=4"


def test_saved_view_create_saves_and_opens_the_view(client, csm):
    client.force_login(csm)
    response = client.post(
        reverse("front:saved-view-create"),
        {"name": " Renewing soon ", "query": "renewal_within=90&sort=-arr&page=2"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/?renewal_within=90&sort=-arr"
    assert list(SavedView.objects.values_list("user_id", "name", "query")) == [
        (csm.pk, "Renewing soon", "renewal_within=90&sort=-arr")
    ]


def test_saved_view_same_name_replaces_the_filters(client, csm):
    client.force_login(csm)
    for query in ("tier=watch", "tier=at_risk"):
        client.post(reverse("front:saved-view-create"), {"name": "Mine", "query": query})
    assert list(SavedView.objects.values_list("name", "query")) == [("Mine", "tier=at_risk")]


def test_saved_view_delete_of_another_users_view_deletes_nothing(client, csm, other_csm):
    theirs = SavedView.objects.create(user=other_csm, name="Theirs", query="tier=watch")
    client.force_login(csm)
    client.post(reverse("front:saved-view-delete", kwargs={"pk": theirs.pk}))
    assert SavedView.objects.filter(pk=theirs.pk).exists()
    client.force_login(other_csm)
    client.post(reverse("front:saved-view-delete", kwargs={"pk": theirs.pk}))
    assert not SavedView.objects.filter(pk=theirs.pk).exists()


def test_saved_views_are_listed_for_their_user_only(client, csm, other_csm):
    SavedView.objects.create(user=csm, name="At risk", query="tier=at_risk")
    SavedView.objects.create(user=other_csm, name="Theirs", query="tier=watch")
    client.force_login(csm)
    assert [view.name for view in client.get("/dashboard/").context["saved_views"]] == ["At risk"]
