"""manage.py import_renewal_outcomes FILE.csv — upsert renewal outcomes, all or nothing."""

from accounts import ingestion
from accounts.management.commands._csv_import import CsvImportCommand


class Command(CsvImportCommand):
    help = (
        "Create or update renewal outcomes by (account, renewal_date) from a CSV file with "
        f"the columns {', '.join(ingestion.RENEWAL_OUTCOME_COLUMNS)}. Nothing is written if "
        "any line is bad."
    )

    def run(self, *, path, user, batch_size, progress):
        return ingestion.renewal_outcomes_import_csv(
            path, user=user, batch_size=batch_size, progress=progress
        )
