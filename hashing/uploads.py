"""An upload handler that keeps files in memory only, with a hard size cap.

Django's default handlers spill uploads over 2.5 MB into a temporary file;
for Redress no byte of a survivor's image may touch disk, so this handler
always keeps the upload in memory and stops reading once the cap is passed.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload


class UploadTooLarge(StopUpload):
    pass


class MemoryOnlyUploadHandler(FileUploadHandler):
    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.buffer = BytesIO()
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.received += len(raw_data)
        if self.received > settings.UPLOAD_MAX_BYTES:
            # Drop what was read; Django discards the rest of the body (reading
            # it so the browser still gets our answer) and the view
            # sees no file and reports the cap.
            self.buffer = BytesIO()
            self.request.upload_too_large = True  # type: ignore[union-attr]
            raise UploadTooLarge(connection_reset=False)
        self.buffer.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> InMemoryUploadedFile:
        self.buffer.seek(0)
        return InMemoryUploadedFile(
            file=self.buffer,
            field_name=self.field_name,
            name=self.file_name,
            content_type=self.content_type,
            size=file_size,
            charset=self.charset,
            content_type_extra=self.content_type_extra,
        )
