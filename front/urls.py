from django.urls import path

from front.views import (
    account,
    dashboard,
    drafts,
    learning,
    portfolio,
    relationship,
    saved_views,
    search,
    work,
)

app_name = "front"

urlpatterns = [
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard.csv", dashboard.dashboard_csv, name="dashboard-csv"),
    path("dashboard/views/", saved_views.saved_view_create, name="saved-view-create"),
    path(
        "dashboard/views/<int:pk>/delete/",
        saved_views.saved_view_delete,
        name="saved-view-delete",
    ),
    path("search/", search.search, name="search"),
    path("accounts/<int:pk>/", account.account_detail, name="account-detail"),
    path("accounts/<int:pk>/sentiment/", account.account_sentiment, name="account-sentiment"),
    path("risks/<int:pk>/transition/", account.risk_transition, name="risk-transition"),
    path("tasks/<int:pk>/finish/", work.task_finish, name="task-finish"),
    path("accounts/<int:pk>/rescore/", work.account_rescore_now, name="account-rescore"),
    path(
        "accounts/<int:pk>/relationship/<slug:slug>/",
        relationship.relationship_form,
        name="relationship-form",
    ),
    path("accounts/<int:pk>/touchpoints/", relationship.touchpoint_log, name="touchpoint-log"),
    path("accounts/<int:pk>/contacts/", relationship.contact_add, name="contact-add"),
    path("accounts/<int:pk>/contacts/role/", relationship.contact_role, name="contact-role"),
    path("accounts/<int:pk>/contacts/left/", relationship.contact_left, name="contact-left"),
    path("portfolio/", portfolio.portfolio, name="portfolio"),
    path("portfolio.csv", portfolio.portfolio_csv, name="portfolio-csv"),
    path("scorecards/<int:pk>/backtest/", learning.scorecard_backtest, name="backtest"),
    path("scorecards/<int:pk>/backtest/run/", learning.scorecard_backtest_run, name="backtest-run"),
    path("scorecards/<int:pk>/drafts/", learning.scorecard_draft_open, name="draft-open"),
    path(
        "scorecards/backtest-runs/<int:pk>/",
        learning.backtest_run_progress,
        name="backtest-progress",
    ),
    path("scorecards/<int:pk>/versions/", drafts.scorecard_versions, name="scorecard-versions"),
    path("scorecards/<int:pk>/drafts/new/", drafts.draft_new, name="draft-new"),
    path("scorecards/<int:pk>/rollback/", drafts.scorecard_rollback, name="scorecard-rollback"),
    path("scorecards/drafts/<int:pk>/", drafts.draft_detail, name="draft"),
    path("scorecards/drafts/<int:pk>/publish/", drafts.draft_publish, name="draft-publish"),
    path("scorecards/drafts/<int:pk>/discard/", drafts.draft_discard, name="draft-discard"),
    path("scorecards/drafts/<int:pk>/rebase/", drafts.draft_rebase, name="draft-rebase"),
    path("scorecards/runs/<int:pk>/", drafts.publish_run, name="publish-run"),
]
