"""Scorecard versions: every change to a scorecard's definition is kept, immutable.

Snapshots record the version they were scored with, so a version is never edited: a change
creates the next number. Every new version is published at once, and says so with a
`scorecard.published` event (events/).
"""

import logging

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction

from events.choices import EventType
from events.services import event_record
from scorecards.documents import scorecard_document_normalize, scorecard_to_document
from scorecards.models import Measure, Scorecard, ScorecardVersion, ScoreRun

logger = logging.getLogger(__name__)


@transaction.atomic
def scorecard_version_create(
    *,
    scorecard: Scorecard,
    user: AbstractBaseUser | AnonymousUser | None,
    note: str = "",
) -> ScorecardVersion | None:
    """Record the scorecard's current definition as its next version, if it changed.

    Compares `scorecard_to_document(scorecard)` with the latest version's definition; when
    they differ, creates ScorecardVersion number latest + 1 (1 for a scorecard without
    versions) with the document, the user and the note, and sets `scorecard.version` to that
    number (on the row and on the instance passed in). Returns the new version, or None when
    nothing in the document changed.
    """
    # Lock the scorecard row: two people saving at once must not both take the same number,
    # and the second one compares with the version the first one just wrote.
    locked = Scorecard.objects.select_for_update().get(pk=scorecard.pk)
    document = scorecard_to_document(locked)
    latest = locked.versions.order_by("-number").first()
    if latest is not None and scorecard_document_normalize(latest.definition) == document:
        return None

    number = latest.number + 1 if latest is not None else 1
    version = ScorecardVersion.objects.create(
        scorecard=locked,
        number=number,
        definition=document,
        note=note,
        created_by=user if user is not None and user.is_authenticated else None,
    )
    locked.version = number
    locked.save(update_fields=["version", "updated_at"])
    scorecard.version = number
    scorecard_published_record(scorecard=locked, version=version)
    return version


def scorecard_published_record(*, scorecard: Scorecard, version: ScorecardVersion) -> None:
    """The `scorecard.published` event of a new version, in the caller's transaction."""
    event_record(
        event_type=EventType.SCORECARD_PUBLISHED,
        data={
            "scorecard": {
                "id": scorecard.pk,
                "name": scorecard.name,
                "version": version.number,
                "note": version.note,
                "published_by": version.created_by.email if version.created_by else None,
            },
            "url": (
                f"{settings.SITE_URL.rstrip('/')}/admin/scorecards/scorecard/{scorecard.pk}/change/"
            ),
        },
    )


@transaction.atomic
def scorecard_versions_create_for_measure(
    *,
    measure: Measure,
    user: AbstractBaseUser | AnonymousUser | None,
    note: str = "",
) -> list[ScorecardVersion]:
    """A measure's name, kind, mapping and max age are part of every scorecard that uses it.

    After a measure changed, records the next version of each scorecard with the measure in
    one of its groups (see `scorecard_version_create`); scorecards whose document did not
    change get none. Returns the versions created, by scorecard id.
    """
    note = note or f"Measure “{measure.key}” changed."
    scorecards = Scorecard.objects.filter(scorecard_measures__measure=measure).distinct()
    versions = []
    for scorecard in scorecards.order_by("id"):
        version = scorecard_version_create(scorecard=scorecard, user=user, note=note)
        if version is not None:
            versions.append(version)
    return versions


def scorecard_published(
    *,
    scorecard: Scorecard,
    version: ScorecardVersion,
    user: AbstractBaseUser | None,
    run: ScoreRun | None,
) -> None:
    """A new version of `scorecard` was published (by `user`: a draft, a rollback or
    PUT /api/v1/scorecards/<id>/), and `run` rescores its accounts: the log line that ties
    the version to its rescore. The `scorecard.published` event itself is recorded with the
    version, in `scorecard_version_create`, so that every new version has one."""
    logger.info(
        "scorecard.published: %s v%s by %s (%s); rescore run %s",
        scorecard.name,
        version.number,
        getattr(user, "username", None),
        version.note,
        run.pk if run is not None else None,
    )
