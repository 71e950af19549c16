from django.urls import path

from scorecards import views

app_name = "scorecards"

urlpatterns = [
    path("portfolio/", views.portfolio, name="portfolio"),
    path("portfolio.csv", views.portfolio_csv, name="portfolio-csv"),
]
