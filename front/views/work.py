"""Working an account from its page: done / skip a task, rescore it now. Each change is
followed by what depends on it (the risk's status, the account's risks), and htmx gets the
parts of the page that changed."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from front.access import get_account_for_relationship, get_task_for_user, is_htmx
from front.forms import TaskFinishForm
from front.views.account import account_context, account_page
from playbooks import services as playbook_services
from risk import services as risk_services
from scorecards.services.scoring import account_rescore


@require_POST
@login_required
def task_finish(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a task done (optional note) or skip it (required note). htmx gets the tasks with
    any error in place, and the risks and timeline out of band (the risk may be mitigating)."""
    task = get_task_for_user(request, pk)
    form = TaskFinishForm(request.POST)
    if form.is_valid():
        service = (
            playbook_services.task_complete
            if form.cleaned_data["action"] == "done"
            else playbook_services.task_skip
        )
        try:
            service(task=task, user=request.user, note=form.cleaned_data["note"])
        except playbook_services.TaskError as refusal:
            form.add_error(None, refusal.message)
    if not form.errors and not is_htmx(request):
        return redirect("front:account-detail", pk=task.account_id)
    if not is_htmx(request):
        return account_page(request, task.account, task_form=form, task_form_pk=task.pk)
    context = account_context(request, task.account, task_form=form, task_form_pk=task.pk)
    return render(request, "front/partials/_tasks_saved.html", context)


@require_POST
@login_required
def account_rescore_now(request: HttpRequest, pk: int) -> HttpResponse:
    """Rescore one account for today and evaluate its risks (owner, leader, CS Ops)."""
    account = get_account_for_relationship(request, pk)
    today = timezone.localdate()
    account_rescore(account=account, as_of=today, user=request.user)
    risk_services.risks_evaluate_for_account(account=account, as_of=today)
    return redirect("front:account-detail", pk=account.pk)
