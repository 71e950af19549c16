"""Impact preview benchmark: a draft previewed on every account of a large portfolio.

    .venv/bin/python bench/preview.py [--repeat 3] [--backtest-outcomes 100000]

Reads the database bench/recompute.py builds (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/healthscore_bench: 100,000 accounts × 10 measures × 30 days
of values) and writes nothing to it: the draft lives in memory only, so the database needs no
migration of ours. Times, in one run:
  (a) the preview end to end (scorecards.services.drafts.scorecard_draft_preview): the
      accounts and their assignment, the latest values (one LATERAL probe per account and
      measure, streamed with COPY), the portfolio scored with the current and with the draft's
      weights, the band matrix, the top 20 movers with their measures, the backtest (on
      whatever renewal outcomes the database holds);
  (b) its floor: the same values read once, and one engine scoring of them;
  (c) the backtest's in-memory part on N synthetic outcomes (dates spread over a year, 10
      measures, 30 days of history each): moving every outcome to one date, one engine call,
      the report and the optimizer fit. Its database read is the LATERAL probe of (b), one per
      outcome and measure.
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
    from scorecards.services import backtest

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


def backtest_in_memory(outcomes: int, repeat: int) -> tuple[float, dict]:
    """The backtest's pure part on synthetic outcomes: shift, one engine call, report, fit."""
    import numpy as np
    import pandas as pd

    from scorecards import engine, learning

    rng = np.random.default_rng(7)
    keys = [f"m{i}" for i in range(10)]
    measures = pd.DataFrame(
        {
            engine.SCORECARD_ID: 1,
            engine.GROUP_ID: [1, 1, 1, 1, 2, 2, 2, 3, 3, 3],
            engine.MEASURE_ID: range(1, 11),
            engine.MEASURE_KEY: keys,
            engine.WEIGHT: 10.0,
            engine.MAPPING_TYPE: "direct",
            engine.LO: np.nan,
            engine.HI: np.nan,
            engine.HIGHER_IS_BETTER: True,
            engine.STEPS: None,
            engine.MAX_AGE_DAYS: 45.0,
            engine.POSITION: 0,
        }
    )
    groups = pd.DataFrame(
        {
            engine.SCORECARD_ID: 1,
            engine.GROUP_ID: [1, 2, 3],
            engine.GROUP_NAME: ["Outcomes", "Experience", "Relationship"],
            engine.WEIGHT: [50.0, 30.0, 20.0],
            engine.POSITION: [0, 1, 2],
        }
    )
    bands = pd.DataFrame(
        {engine.SCORECARD_ID: 1, engine.LABEL: ["Red", "Yellow", "Green"], engine.MIN: [0, 50, 75]}
    )
    renewal = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 365, outcomes), unit="D")
    health = rng.uniform(0, 100, outcomes)
    is_churned = rng.uniform(0, 100, outcomes) > health + 30
    sample = pd.DataFrame(
        {
            learning.OUTCOME_ID: np.arange(1, outcomes + 1),
            learning.RENEWAL_DATE: renewal,
            learning.SCORED_ON: renewal - pd.Timedelta(days=90),
            learning.IS_CHURNED: is_churned,
        }
    )
    sample[learning.IS_HOLDOUT] = learning.holdout_mask(
        sample[learning.RENEWAL_DATE], sample[learning.OUTCOME_ID]
    )
    # The latest value of each measure, 0–29 days before the scoring date (what the LATERAL
    # probe returns), noisy around the outcome's health for the first three measures.
    n = outcomes * len(keys)
    age = pd.to_timedelta(rng.integers(0, 30, n), unit="D")
    signal = np.repeat(health, len(keys)) * np.tile([1.0] * 3 + [0.0] * 7, outcomes)
    values = pd.DataFrame(
        {
            learning.OUTCOME_ID: np.repeat(sample[learning.OUTCOME_ID].to_numpy(), len(keys)),
            engine.MEASURE_ID: np.tile(np.arange(1, 11), outcomes),
            engine.RAW_VALUE: np.clip(signal + rng.normal(50, 25, n) * 0.5, 0, 100),
            engine.AS_OF: np.repeat(sample[learning.SCORED_ON].to_numpy(), len(keys)) - age,
            engine.VALUE_ID: np.arange(n),
        }
    )
    as_of = sample[learning.SCORED_ON].max()

    def run() -> dict:
        shifted = learning.values_on_common_date(values, sample, as_of=as_of)
        result = engine.score_accounts(
            values=shifted,
            measures=measures,
            groups=groups,
            scorecards=pd.DataFrame({engine.SCORECARD_ID: [1], engine.MIN_COVERAGE: [0.0]}),
            bands=bands,
            exception_rules=pd.DataFrame(
                columns=[
                    engine.SCORECARD_ID,
                    engine.RULE_ID,
                    engine.MEASURE_ID,
                    engine.OP,
                    engine.VALUE,
                    engine.ACTION,
                    engine.BAND,
                    engine.SCORE,
                    engine.REASON,
                ]
            ),
            assignments=pd.DataFrame(
                {engine.ACCOUNT_ID: sample[learning.OUTCOME_ID], engine.SCORECARD_ID: 1}
            ),
            as_of=as_of.date(),
        )
        accounts = result.accounts.set_index(engine.ACCOUNT_ID).reindex(sample[learning.OUTCOME_ID])
        scored = sample.assign(
            **{
                learning.OVERALL: accounts[engine.OVERALL].to_numpy(),
                learning.BAND: accounts[engine.BAND].to_numpy(),
            }
        )
        features = learning.feature_matrix(
            result.measures, sample[learning.OUTCOME_ID].to_numpy(), keys
        )
        report = learning.backtest_report(scored, features, bands)
        training = learning.training_rows(features, scored[learning.IS_HOLDOUT].to_numpy())
        weights = learning.fit_measure_weights(
            features[training], scored.loc[training, learning.IS_CHURNED].to_numpy()
        )
        report["suggested"] = learning.suggested_weights(weights).to_dict()
        return report

    return best_of(repeat, run)


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
        seconds, report = backtest_in_memory(options.backtest_outcomes, options.repeat)
        print(
            f"(c) backtest, in memory, {report['n_outcomes']:,} outcomes × 10 measures: "
            f"{seconds:.2f} s (best of {options.repeat}); AUC {report['auc']}, "
            f"held out {report['auc_holdout']}; peak RSS {peak_rss_mb():,.0f} MB"
        )


if __name__ == "__main__":
    main()
