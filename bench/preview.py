"""Impact preview benchmark: a draft previewed on every account of a large portfolio.

    .venv/bin/python bench/preview.py [--repeat 3] [--backtest-outcomes 100000]

Reads the database bench/recompute.py builds (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/healthscore_bench: 100,000 accounts × 10 measures × 30 days
of values) and writes nothing to it: the draft lives in memory only, so the database needs no
migration of ours. Times, in one run:
  (a) the preview end to end (scorecards.services.drafts.scorecard_draft_preview): the
      accounts and their assignment, the latest values (one LATERAL probe per account and
      measure, streamed with COPY over READ_CONNECTIONS connections), the portfolio scored
      with the current and with the draft's weights, the band matrix, the top 20 movers with
      their measures, the backtest (on whatever renewal outcomes the database holds);
  (b) its floor: the same values read once, and one engine scoring of them;
  (c) the optimizer (scorecards.learning.backtest) on N renewal outcomes made up in memory for
      the benchmark's accounts (renewals over 30 days, churn drawn from adoption): loading the
      sample (one LATERAL probe per outcome and measure, each outcome on its own date), then the
      backtest of the current weights, the fit and the backtest of the suggestion.
Prints seconds (best of --repeat), accounts, rows and peak memory.
"""

import argparse
import os
import platform
import resource
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/healthscore_bench"


def django_setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "healthscore.settings")
    import django

    django.setup()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def best_of(repeat: int, run) -> tuple[float, object]:
    """The fastest of `repeat` runs (the machine is shared) and the last result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return min(times), result


def draft_in_memory(scorecard):
    """A draft that moves weight from Experience to Outcomes and doubles adoption — never
    saved (the benchmark database is read-only)."""
    from scorecards.documents import scorecard_to_document
    from scorecards.models import ScorecardDraft
    from scorecards.services import drafts

    document = scorecard_to_document(scorecard)
    groups, measures = drafts.draft_weights(document)
    group_weights = {name: weight for name, weight in groups.items()}
    group_weights["Outcomes"] = groups["Outcomes"] + 15
    group_weights["Experience"] = max(groups["Experience"] - 15, 1)
    measure_weights = {"adoption": measures["adoption"] * 2}
    return ScorecardDraft(
        scorecard=scorecard,
        base_version=scorecard.version,
        definition=drafts.draft_document(
            document, group_weights=group_weights, measure_weights=measure_weights
        ),
    )


def preview_floor(scorecard, as_of: date) -> tuple[float, float, int]:
    """Seconds to read the values once and to score them once, and the value rows."""
    import pandas as pd

    from accounts.models import Account
    from scorecards import engine, learning, selectors
    from scorecards.learning import backtest

    frames = selectors.scorecard_frames()
    definition = backtest.definition_of(frames, scorecard.pk)
    ids = list(Account.objects.filter(status=Account.Status.ACTIVE).values_list("pk", flat=True))
    started = time.perf_counter()
    values = backtest.values_at_frame(
        probes=pd.DataFrame(
            {
                learning.OUTCOME_ID: ids,
                engine.ACCOUNT_ID: ids,
                learning.SCORED_ON: pd.Timestamp(as_of),
            }
        ),
        measure_ids=sorted(set(definition.measures[engine.MEASURE_ID])),
    ).rename(columns={learning.OUTCOME_ID: engine.ACCOUNT_ID})
    read = time.perf_counter() - started
    started = time.perf_counter()
    engine.score_accounts(
        values=values,
        measures=definition.measures,
        groups=definition.groups,
        scorecards=definition.scorecards,
        bands=definition.bands,
        exception_rules=definition.exception_rules,
        assignments=pd.DataFrame({engine.ACCOUNT_ID: ids, engine.SCORECARD_ID: scorecard.pk}),
        as_of=as_of,
    )
    return read, time.perf_counter() - started, len(values)


def backtest_of_outcomes(scorecard, outcomes: int, repeat: int) -> tuple[float, float, dict]:
    """The optimizer (backtest of current weights, fit, backtest of the suggestion) on
    `outcomes` synthetic renewal outcomes of the benchmark's accounts, from their real values:
    renewals spread over 30 days so that each is scored 90 days before on a day of the
    history; churn drawn from adoption (P = 0.5 · (1 − adoption)), so there is something to
    learn. Nothing is written: the outcomes exist only in memory.
    Returns (seconds to load the sample, seconds to optimize, the report)."""
    import dataclasses

    import numpy as np
    import pandas as pd

    from accounts.models import Account
    from scorecards import engine, learning, selectors
    from scorecards.learning import backtest

    definition = backtest.definition_of(selectors.scorecard_frames(), scorecard.pk)
    ids = np.array(
        Account.objects.filter(status=Account.Status.ACTIVE)
        .order_by("pk")
        .values_list("pk", flat=True)[:outcomes]
    )
    first_day = pd.Timestamp("2026-10-22") + pd.Timedelta(days=90)
    frame = pd.DataFrame(
        {
            learning.OUTCOME_ID: ids,
            engine.ACCOUNT_ID: ids,
            learning.RENEWAL_DATE: first_day + pd.to_timedelta(ids % 30, unit="D"),
            learning.OUTCOME: "renewed",
            "arr_before": 50_000.0,
        }
    )
    load = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        sample = backtest.backtest_sample_build(
            scorecard_id=scorecard.pk,
            outcomes=frame,
            measure_ids=sorted(set(definition.measures[engine.MEASURE_ID])),
        )
        load = min(load, time.perf_counter() - started)
    adoption_id = int(
        definition.measures.loc[
            definition.measures[engine.MEASURE_KEY] == "adoption", engine.MEASURE_ID
        ].iloc[0]
    )
    adoption = (
        sample.values[sample.values[engine.MEASURE_ID] == adoption_id]
        .sort_values(engine.AS_OF)
        .drop_duplicates(engine.ACCOUNT_ID, keep="last")
        .set_index(engine.ACCOUNT_ID)[engine.RAW_VALUE]
    )
    chance = 0.5 * (1 - sample.outcomes[learning.OUTCOME_ID].map(adoption).fillna(0.6))
    rng = np.random.default_rng(7)
    is_churned = rng.uniform(size=len(chance)) < chance.to_numpy()
    sample = dataclasses.replace(
        sample, outcomes=sample.outcomes.assign(**{learning.IS_CHURNED: is_churned})
    )
    seconds, report = best_of(
        repeat, lambda: backtest.sample_optimize(sample=sample, definition=definition)
    )
    return load, seconds, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backtest-outcomes", type=int, default=100_000)
    options = parser.parse_args()

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    django_setup(options.url)
    from django.db import connection

    from accounts.models import Account
    from scorecards.models import Scorecard
    from scorecards.services import drafts

    if connection.vendor != "postgresql" or not Account.objects.exists():
        sys.exit(f"No portfolio at {options.url}: build it with bench/recompute.py first.")
    scorecard = Scorecard.objects.get(is_default=True)
    draft = draft_in_memory(scorecard)
    as_of = drafts.preview_date()

    seconds, preview = best_of(
        options.repeat, lambda: drafts.scorecard_draft_preview(draft=draft, as_of=as_of)
    )
    print(
        f"(a) preview of {preview['accounts']:,} accounts on {as_of}: {seconds:.2f} s "
        f"(best of {options.repeat}); {preview['changed_band']['accounts']:,} change band, "
        f"{len(preview['movers'])} movers, backtest on {preview['backtest']['n_outcomes']} "
        f"outcomes; peak RSS {peak_rss_mb():,.0f} MB"
    )
    read, score, rows = preview_floor(scorecard, as_of)
    print(f"(b) floor: read {rows:,} latest values {read:.2f} s; one engine scoring {score:.2f} s")
    if options.backtest_outcomes:
        load, seconds, report = backtest_of_outcomes(
            scorecard, options.backtest_outcomes, options.repeat
        )
        current, suggested = report["current"], report["suggested"]
        print(
            f"(c) optimizer on {report['n_outcomes']:,} outcomes: load {load:.2f} s + backtest, "
            f"fit and backtest of the suggestion {seconds:.2f} s = {load + seconds:.2f} s "
            f"(best of {options.repeat}); held-out AUC {current['auc_holdout']} current, "
            f"{suggested['auc_holdout']} suggested; peak RSS {peak_rss_mb():,.0f} MB"
        )


if __name__ == "__main__":
    main()
