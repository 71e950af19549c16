"""The top bar's search: accounts by name or CRM id and contacts by name or email, among the
accounts the user may see (a CSM never finds another CSM's account)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts import roles
from accounts.selectors import SEARCH_MIN_LENGTH, accounts_search, contacts_search
from front.forms import SearchForm


@login_required
def search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET)
    query = form.cleaned_data["q"].strip() if form.is_valid() else ""
    context = {
        "query": query,
        "min_length": SEARCH_MIN_LENGTH,
        "accounts": accounts_search(user=request.user, query=query),
        "contacts": contacts_search(user=request.user, query=query),
        "sees_portfolio": roles.user_sees_all_accounts(request.user),
    }
    return render(request, "front/search.html", context)
