"""manage.py import_measure_values FILE.csv — measure values, streamed, all or nothing."""

from accounts.management.commands._csv_import import CsvImportCommand
from scorecards.services import ingestion


class Command(CsvImportCommand):
    help = (
        "Import measure values from a CSV file with the columns account (external_id), "
        "measure (key), raw_value, as_of (YYYY-MM-DD), source (blank: import) and comment. "
        "Streams the file in batches; nothing is written if any line is bad."
    )

    def run(self, *, path, user, batch_size, progress):
        return ingestion.measure_values_import_csv(
            path, user=user, batch_size=batch_size, progress=progress
        )
