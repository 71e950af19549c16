"""manage.py import_metric_values FILE.csv — daily metric values, streamed, all or nothing."""

from accounts.management.commands._csv_import import CsvImportCommand
from metrics import services


class Command(CsvImportCommand):
    help = (
        "Import metric values from a CSV file with the columns account (external_id), metric "
        "(key), date (YYYY-MM-DD) and value. Streams the file in batches (bounded memory); "
        "nothing is written if any line is bad; a value already stored is replaced."
    )

    def run(self, *, path, user, batch_size, progress):
        return services.metric_values_import_csv(
            path, user=user, batch_size=batch_size, progress=progress
        )
