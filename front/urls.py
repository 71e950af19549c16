from django.urls import path

from front.views import account, dashboard, drafts, learning, portfolio

app_name = "front"

urlpatterns = [
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("accounts/<int:pk>/", account.account_detail, name="account-detail"),
    path("accounts/<int:pk>/sentiment/", account.account_sentiment, name="account-sentiment"),
    path("risks/<int:pk>/transition/", account.risk_transition, name="risk-transition"),
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
