from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static

from accounts import roles, selectors


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Each role lands on its page: leaders and CS Ops on the portfolio (CS Ops reach the
    admin from the menu), CSMs on their dashboard. A user without a role sees a welcome page
    that says so."""
    user_roles = roles.user_roles(request.user)
    if request.user.is_superuser or user_roles & {roles.CS_LEADER, roles.CS_OPS}:
        return redirect("front:portfolio")
    if roles.CSM in user_roles:
        return redirect("front:dashboard")
    context = {
        "roles": sorted(user_roles),
        "account_count": selectors.accounts_visible_to(user=request.user).count(),
    }
    return render(request, "front/home.html", context)


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page links; send them to the SVG icon."""
    return redirect(static("favicon.svg"))
