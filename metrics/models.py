"""Usage metrics: declared daily numbers per account, the inputs of derived measures
(PRODUCT.md "Usage metrics become measures")."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Metric(models.Model):
    """A daily number per account from product analytics or the warehouse, declared before
    any value of it is accepted."""

    key = models.SlugField(max_length=50, help_text=_("e.g. active_users; unique."))
    name = models.CharField(max_length=100)
    unit = models.CharField(max_length=30, blank=True, help_text=_("e.g. users, seats, logins"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["key"]
        constraints = [
            models.UniqueConstraint(fields=["key"], name="%(app_label)s_%(class)s_key_unique"),
        ]

    def __str__(self) -> str:
        return self.key


class MetricValue(models.Model):
    """One account's value of one metric on one date; sending it again replaces it.

    The biggest table of the product (accounts × metrics × days). On PostgreSQL it is
    partitioned by month on `date` (see migrations/0001_initial.py and
    services.metric_value_partitions_ensure), so that a night reads only the months its windows
    touch and an old month is dropped by detaching its partition. The primary key there is
    (id, date), as a partitioned table's keys must hold the partition key.
    """

    # No foreign-key constraints in the database (db_constraint=False): PostgreSQL checks one
    # row at a time, two queries per value at commit, which was half the time of a
    # 10,000-row push. The ingestion resolves every account and metric in the transaction
    # that writes, and Django still cascades an account's deletion to its values and refuses
    # to delete a metric that has values (PROTECT).
    account = models.ForeignKey(
        "accounts.Account",
        on_delete=models.CASCADE,
        related_name="metric_values",
        db_index=False,
        db_constraint=False,
    )
    metric = models.ForeignKey(
        Metric, on_delete=models.PROTECT, related_name="values", db_index=False, db_constraint=False
    )
    date = models.DateField()
    value = models.FloatField()

    class Meta:
        ordering = ["-date", "account_id", "metric_id"]
        constraints = [
            # On PostgreSQL the migration makes it covering, INCLUDE (value): a derivation's
            # window read is then an index-only scan of each month it touches (bench/metrics.py
            # measured it against BRIN). SQLite cannot include columns, so the model leaves it out.
            models.UniqueConstraint(
                fields=["account", "metric", "date"],
                name="%(app_label)s_%(class)s_one_per_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.metric_id}={self.value} on {self.date}"
