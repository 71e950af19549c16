"""Saved views: a user names the dashboard's filters and finds them again in one click."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from front import services
from front.forms import SavedViewForm


@login_required
@require_POST
def saved_view_create(request: HttpRequest) -> HttpResponse:
    form = SavedViewForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("name", ["The view was not saved."])))
        return redirect("front:dashboard")
    view = services.saved_view_save(
        user=request.user, name=form.cleaned_data["name"], query=form.cleaned_data["query"]
    )
    messages.success(request, f"Saved the view “{view.name}”.")
    return redirect(
        f"{reverse('front:dashboard')}?{view.query}" if view.query else "front:dashboard"
    )


@login_required
@require_POST
def saved_view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    services.saved_view_delete(user=request.user, pk=pk)
    return redirect("front:dashboard")
