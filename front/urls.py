from django.urls import path

from risk import views

app_name = "risk"

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("accounts/<int:pk>/", views.account_detail, name="account-detail"),
    path("accounts/<int:pk>/sentiment/", views.account_sentiment, name="account-sentiment"),
    path("risks/<int:pk>/transition/", views.risk_transition, name="risk-transition"),
]
