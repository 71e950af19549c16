"""What the three CSV import commands share: arguments, progress bars and the error report."""

from collections.abc import Callable
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.bulk import IngestionError
from accounts.csv_files import CsvImportResult


class ProgressBars:
    """One tqdm bar per pass over the file (checking, then writing), in bytes read."""

    def __init__(self, *, stream, disable: bool) -> None:
        self.stream = stream
        self.disable = disable
        self.bar: tqdm | None = None

    def __call__(self, phase: str, total: int) -> Callable[[int], None]:
        self.close()
        self.bar = tqdm(
            total=total,
            desc=phase,
            unit="B",
            unit_scale=True,
            disable=self.disable,
            file=self.stream,
        )
        return self.bar.update

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class CsvImportCommand(BaseCommand):
    """Subclasses set `help` and implement `run(path, user, batch_size, progress)`."""

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="The CSV file, with a header line.")
        parser.add_argument(
            "--user",
            help="Import as this user (username): only the accounts they may see are known. "
            "Default: every account.",
        )
        parser.add_argument("--batch-size", type=int, default=5_000)
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def run(self, *, path: Path, user, batch_size: int, progress) -> CsvImportResult:
        raise NotImplementedError

    def handle(self, *args, **options):
        path = options["file"]
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user {options['user']!r}.")
        bars = ProgressBars(stream=self.stderr, disable=options["no_progress"])
        try:
            imported = self.run(
                path=path, user=user, batch_size=options["batch_size"], progress=bars
            )
        except IngestionError as error:
            bars.close()
            for row in error.rows:
                self.stderr.write(f"line {row.row}, {row.field or 'row'}: {row.message}")
            raise CommandError(error.message) from None
        bars.close()
        result = imported.result
        self.stdout.write(
            f"{imported.rows} rows: {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged."
        )
