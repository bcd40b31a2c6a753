"""Re-encrypt every encrypted column under the first key in FIELD_ENCRYPTION_KEYS.

Rotation: prepend a new key to FIELD_ENCRYPTION_KEYS, deploy, run this
command, then remove the old key.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from redress.crypto import EncryptedTextField, rotate


class Command(BaseCommand):
    help = "Re-encrypt all encrypted fields with the primary key."

    def handle(self, *args: Any, **options: Any) -> None:
        total = 0
        for model in apps.get_models():
            columns = [str(f.column) for f in model._meta.get_fields() if isinstance(f, EncryptedTextField)]
            if not columns:
                continue
            # The ORM would decrypt on read; rotation works on the raw tokens,
            # so it reads and writes the columns with plain SQL.
            table = model._meta.db_table
            with transaction.atomic():
                rows = model._default_manager.select_for_update().values_list("pk", flat=True)
                for pk in rows.iterator():
                    total += self._rotate_row(model, table, columns, pk)
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {total} value(s)."))

    def _rotate_row(self, model: Any, table: str, columns: list[str], pk: Any) -> int:
        from django.db import connection

        quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
        pk_col = connection.ops.quote_name(model._meta.pk.column)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {quoted} FROM {connection.ops.quote_name(table)} WHERE {pk_col} = %s", [pk])  # noqa: S608
            values = cursor.fetchone()
            new = [rotate(v) if v else v for v in values]
            assignments = ", ".join(f"{connection.ops.quote_name(c)} = %s" for c in columns)
            cursor.execute(
                f"UPDATE {connection.ops.quote_name(table)} SET {assignments} WHERE {pk_col} = %s",  # noqa: S608
                [*new, pk],
            )
        return sum(1 for v in values if v)
