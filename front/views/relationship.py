"""The relationship, recorded on the account page: log a touchpoint, add a contact, change a
role, mark a contact as left. The owner, leaders and CS Ops may; each change re-evaluates the
account's risks at once. htmx gets the relationship card (the form's errors in place, with
status 200) and, once written, the contacts, risks, tasks and timeline out of band.

The account page shows each form's summary only; a form is fetched when its summary is first
opened (`relationship_form`), so that the page views that record nothing (most of them)
render no form: the four forms were a fifth of a first view's CPU."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts import services as account_services
from front.access import get_account_for_relationship, is_htmx
from front.forms import ContactAddForm, ContactLeftForm, ContactRoleForm, TouchpointForm
from front.views.account import RELATIONSHIP_FORM_SLUGS, account_context, account_page
from risk import services as risk_services


@require_GET
@login_required
def relationship_form(request: HttpRequest, pk: int, slug: str) -> HttpResponse:
    """One empty relationship form: for htmx the form alone (into its opened summary),
    otherwise the account page with that form open."""
    account = get_account_for_relationship(request, pk)
    if slug not in RELATIONSHIP_FORM_SLUGS:
        raise Http404("No such relationship form.")
    name, empty = RELATIONSHIP_FORM_SLUGS[slug]
    form = empty(account, timezone.localdate())
    if is_htmx(request):
        return render(request, f"front/partials/_{name}.html", {"account": account, name: form})
    return account_page(request, account, **{name: form})


def _respond(request: HttpRequest, account, *, form_name: str, form, written: bool):
    """After a post: the form with its errors, or (written) the card with every form closed
    and the risks re-evaluated."""
    if written:
        risk_services.risks_evaluate_for_account(account=account, as_of=timezone.localdate())
        if not is_htmx(request):
            return redirect("front:account-detail", pk=account.pk)
    bound = {} if written else {form_name: form}
    if not is_htmx(request):
        return account_page(request, account, **bound)
    context = account_context(request, account, **bound, relationship_saved=written)
    return render(request, "front/partials/_relationship_saved.html", context)


def _write(form, write) -> bool:
    """Run `write` when the form is valid; a service's ValidationError lands on the form."""
    if not form.is_valid():
        return False
    try:
        with transaction.atomic():
            write(form.cleaned_data)
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
        return False
    return True


@require_POST
@login_required
def touchpoint_log(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_account_for_relationship(request, pk)
    form = TouchpointForm(request.POST, account=account, today=timezone.localdate())
    written = _write(
        form,
        lambda data: account_services.touchpoint_create(account=account, user=request.user, **data),
    )
    return _respond(request, account, form_name="touchpoint_form", form=form, written=written)


@require_POST
@login_required
def contact_add(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_account_for_relationship(request, pk)
    form = ContactAddForm(request.POST)
    written = _write(form, lambda data: account_services.contact_create(account=account, **data))
    return _respond(request, account, form_name="contact_add_form", form=form, written=written)


@require_POST
@login_required
def contact_role(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_account_for_relationship(request, pk)
    form = ContactRoleForm(request.POST, account=account)
    written = _write(
        form,
        lambda data: account_services.contact_change_role(
            contact=data["contact"], role=data["role"], user=request.user
        ),
    )
    return _respond(request, account, form_name="contact_role_form", form=form, written=written)


@require_POST
@login_required
def contact_left(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_account_for_relationship(request, pk)
    form = ContactLeftForm(request.POST, account=account, today=timezone.localdate())
    written = _write(
        form,
        lambda data: (
            account_services.contact_left_on_check(
                contact=data["contact"], left_on=data["left_on"]
            ),
            account_services.contact_mark_left(
                contact=data["contact"], left_on=data["left_on"], user=request.user
            ),
        ),
    )
    return _respond(request, account, form_name="contact_left_form", form=form, written=written)
