"""The demo portfolio generator's public face: ``demo_portfolio_seed`` and what its callers
(the ``seed_demo`` command, tests, benchmarks) need to know about the portfolio it writes."""

from demo.services.seed import demo_portfolio_seed
from demo.services.shape import (
    DEFAULT_ACCOUNTS,
    DEFAULT_DAYS,
    DEFAULT_SEED,
    DEMO_PASSWORD,
    DEMO_USERS,
    DemoPortfolioExistsError,
    DemoSummary,
)

__all__ = [
    "DEFAULT_ACCOUNTS",
    "DEFAULT_DAYS",
    "DEFAULT_SEED",
    "DEMO_PASSWORD",
    "DEMO_USERS",
    "DemoPortfolioExistsError",
    "DemoSummary",
    "demo_portfolio_seed",
]
