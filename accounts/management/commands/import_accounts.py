"""manage.py import_accounts FILE.csv — upsert accounts by external_id, all or nothing."""

from accounts import ingestion
from accounts.management.commands._csv_import import CsvImportCommand


class Command(CsvImportCommand):
    help = (
        "Create or update accounts by external_id from a CSV file with the columns "
        f"{', '.join(ingestion.ACCOUNT_COLUMNS)}. Nothing is written if any line is bad."
    )

    def run(self, *, path, user, batch_size, progress):
        return ingestion.accounts_import_csv(
            path, user=user, batch_size=batch_size, progress=progress
        )
