from django.db import models
from django.utils.translation import gettext_lazy as _


class Assignee(models.TextChoices):
    """Who a playbook step's task goes to: the account's owner (its CSM) or a CS leader."""

    OWNER = "owner", _("Account owner")
    LEADER = "leader", _("CS leader")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    SKIPPED = "skipped", _("Skipped")


FINISHED_STATUSES = (TaskStatus.DONE, TaskStatus.SKIPPED)
