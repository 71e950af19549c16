import pytest
from django.contrib.auth.models import Group

from accounts import roles


@pytest.mark.django_db
def test_roles_exist_as_groups():
    assert set(Group.objects.values_list("name", flat=True)) == {
        "CSM",
        "CS Leader",
        "CS Ops",
        "Integration",
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "permission", "expected"),
    [
        ("CSM", "scorecards.add_measurevalue", True),
        ("CSM", "risk.change_risk", True),
        ("CSM", "scorecards.change_scorecard", False),
        ("CSM", "accounts.change_account", False),
        ("CS Leader", "accounts.change_account", True),
        ("CS Leader", "scorecards.change_measuregroup", False),
        ("CS Ops", "scorecards.change_measuregroup", True),
        ("CS Ops", "django_celery_beat.change_periodictask", True),
        ("CS Ops", "risk.change_riskrule", True),
        ("Integration", "scorecards.add_measurevalue", True),
        ("Integration", "risk.change_risk", False),
    ],
)
def test_roles_grant_their_permissions(role, permission, expected):
    from tests.accounts.factories import UserFactory

    user = UserFactory(role=role)
    assert user.has_perm(permission) is expected


@pytest.mark.django_db
def test_roles_csm_does_not_see_all_accounts():
    from tests.accounts.factories import UserFactory

    assert roles.user_sees_all_accounts(UserFactory(role="CSM")) is False
    assert roles.user_sees_all_accounts(UserFactory(role="CS Leader")) is True
