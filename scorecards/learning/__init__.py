"""Learning from renewals (PRODUCT.md): the pure maths (maths.py), the backtest and optimizer
(backtest.py), renewal likelihood (likelihood.py), worker runs (runs.py, tasks.py) and the
reads they share with the pages and the API (selectors.py)."""
