"""The planned demo portfolio as table rows (DataFrames with the columns of each table)."""

import unicodedata
from datetime import datetime

import numpy as np
import pandas as pd
from django.db import connection

from accounts.models import Account
from demo.services.accounts import AccountPlan, lifecycle_stages
from demo.services.contacts import Cast, Touches
from demo.services.shape import SEGMENTS

# --- Rows for the tables -------------------------------------------------------------------------


def timestamp(now: datetime) -> str:
    return str(connection.ops.adapt_datetimefield_value(now))


def iso_dates(days: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(days, unit="D").astype(object)


def account_rows(
    plan: AccountPlan, account_ids: np.ndarray, *, owner_ids: np.ndarray, now: datetime
) -> pd.DataFrame:
    stamp = timestamp(now)
    return pd.DataFrame(
        {
            "id": account_ids,
            "external_id": plan.external_id,
            "name": plan.name,
            "segment": np.array([s.name for s in SEGMENTS], dtype=object)[plan.segment],
            "tier": plan.tier,
            "region": plan.region,
            "industry": plan.industry,
            "lifecycle": lifecycle_stages(plan),
            # A churned account keeps the ARR it had: what the company lost.
            "arr": np.where(plan.is_churned, plan.arr, plan.arr_after),
            "renewal_date": iso_dates(plan.renewal_date),
            "owner_id": owner_ids,
            "status": np.where(
                plan.is_churned, Account.Status.CHURNED.value, Account.Status.ACTIVE.value
            ),
            "created_at": stamp,
            "updated_at": stamp,
        }
    )


def contact_rows(
    plan: AccountPlan,
    cast: Cast,
    account_ids: np.ndarray,
    contact_ids: np.ndarray,
    *,
    now: datetime,
) -> pd.DataFrame:
    stamp = timestamp(now)
    has_left = cast.left_days_ago >= 0
    left_on = plan.date_of(plan.days - np.where(has_left, cast.left_days_ago, 0))
    domain = np.array([_email_domain(name) for name in plan.name], dtype=object)[cast.account]
    position = np.arange(cast.count) - cast.first[cast.account] + 1
    return pd.DataFrame(
        {
            "id": contact_ids,
            "account_id": account_ids[cast.account],
            "external_id": [
                f"{external_id}-C{k}"
                for external_id, k in zip(plan.external_id[cast.account], position, strict=True)
            ],
            "name": cast.first_name + " " + cast.last_name,
            "email": [
                f"{_ascii(first)}.{_ascii(last)}@{d}"
                for first, last, d in zip(cast.first_name, cast.last_name, domain, strict=True)
            ],
            "title": cast.title,
            "role": cast.role,
            "is_active": ~has_left,
            "left_on": np.where(has_left, iso_dates(left_on), None),
            "created_at": stamp,
            "updated_at": stamp,
        }
    )


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return folded.lower().replace(" ", "")


def _email_domain(company: str) -> str:
    words = _ascii(company.split(" (")[0]).replace(".", "")
    stem = "".join(ch for ch in words[:40] if ch.isalnum())
    return f"{stem}.example"


def touchpoint_rows(
    plan: AccountPlan,
    touches: Touches,
    account_ids: np.ndarray,
    touchpoint_ids: np.ndarray,
    owner_ids: np.ndarray,
    now: datetime,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": touchpoint_ids,
            "account_id": account_ids[touches.account],
            "kind": touches.kind,
            "occurred_on": iso_dates(plan.date_of(touches.t)),
            "summary": touches.summary,
            "created_by_id": owner_ids[touches.account],
            "created_at": timestamp(now),
        }
    )


def measure_value_rows(
    values: pd.DataFrame,
    plan: AccountPlan,
    account_ids: np.ndarray,
    owner_ids: np.ndarray,
    now: datetime,
) -> pd.DataFrame:
    account = values["account"].to_numpy()
    t = values["t"].to_numpy()
    # Format each day once, not once per value.
    earliest = int(t.min()) if len(t) else 0
    dates = iso_dates(plan.date_of(np.arange(earliest, plan.days + 1)))
    # Manual values were entered by the account's CSM.
    entered_by = pd.Series(owner_ids[account], dtype="Int64").where(values["is_manual"])
    return pd.DataFrame(
        {
            "account_id": account_ids[account],
            "measure_id": values["measure_id"].to_numpy(),
            "raw_value": values["raw_value"].to_numpy(),
            "score": values["score"].to_numpy(),
            "as_of": dates[t - earliest],
            "source": values["source"].to_numpy(),
            "comment": values["comment"].to_numpy(),
            "entered_by_id": entered_by,
            "created_at": timestamp(now),
        }
    )
