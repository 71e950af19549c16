from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts import roles, selectors


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Where everyone lands after logging in."""
    context = {
        "roles": sorted(roles.user_roles(request.user)),
        "account_count": selectors.accounts_visible_to(user=request.user).count(),
    }
    return render(request, "home.html", context)
