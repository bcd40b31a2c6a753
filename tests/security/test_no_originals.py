"""The proof that no original image is stored (DESIGN.md, principle 1).

A real photo is uploaded through the case page, then searched for, raw, hex
and base64, in: every row of every table (through the models, so encrypted
columns are searched decrypted, and through raw SQL, as stored); every file
under MEDIA_ROOT and the var directory, and every file in the temp directory
written during the test; every log record at DEBUG, SQL included; every
Celery task message. Each search is first shown to find a planted window of
the photo, so none of them can pass by searching nothing. The upload itself
must stay in memory: creating any temporary file while it runs fails.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import logging
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from celery.app.task import Task
from django.conf import settings as django_settings
from django.core.files import temp as django_temp
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.db import connection, transaction
from django.urls import reverse
from kombu import Producer

from cases.models import Case, Event, Survivor
from hashing.models import Hash, MediaItem
from monitoring.tasks import check_url
from tests.conftest import login

from .leaks import WINDOW, PhotoFinder, flatten, regular_files, search_database, search_files

PHOTOS = {
    "jpeg": ("pdq/bridge-mods/aaa-orig.jpg", "image/jpeg"),
    "png": ("pdq/misc-images/c.png", "image/png"),
}


class TempFileCreated(Exception):
    """Raised, and recorded, when anything creates a temporary file during the upload."""


@contextlib.contextmanager
def no_temporary_files() -> Iterator[list[str]]:
    """Every way Python and Django create temporary files, made to fail and be recorded."""
    attempts: list[str] = []

    def trap(name: str) -> Any:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            attempts.append(name)
            raise TempFileCreated(f"{name} was called while a photo was being uploaded")

        return refuse

    targets = [
        (tempfile, "NamedTemporaryFile"),
        (tempfile, "TemporaryFile"),
        (tempfile, "SpooledTemporaryFile"),
        (tempfile, "mkstemp"),
        (tempfile, "mkdtemp"),
        (tempfile, "TemporaryDirectory"),
        # Django binds its own name at import, so patching tempfile's is not enough.
        (django_temp, "NamedTemporaryFile"),
        (TemporaryUploadedFile, "__init__"),
    ]
    with contextlib.ExitStack() as stack:
        for owner, name in targets:
            stack.enter_context(mock.patch.object(owner, name, trap(f"{getattr(owner, '__name__', owner)}.{name}")))
        yield attempts


@contextlib.contextmanager
def every_log_record(path: Path) -> Iterator[io.StringIO]:
    """Send every record of every logger, at DEBUG and SQL included, to a file and a StringIO."""
    memory = io.StringIO()
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    handlers: list[logging.Handler] = [logging.FileHandler(path, encoding="utf-8"), logging.StreamHandler(memory)]
    root = logging.getLogger()
    loggers = [root, *(lg for lg in root.manager.loggerDict.values() if isinstance(lg, logging.Logger))]
    saved = [(lg, lg.level, lg.disabled) for lg in loggers]
    for handler in handlers:
        handler.setLevel(logging.DEBUG)
        handler.setFormatter(formatter)
        root.addHandler(handler)
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.disabled = False
    # Log every SQL statement with its parameters, as DEBUG=True would.
    debug_cursor, connection.force_debug_cursor = connection.force_debug_cursor, True
    try:
        yield memory
    finally:
        connection.force_debug_cursor = debug_cursor
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()
        for lg, level, disabled in saved:
            lg.setLevel(level)
            lg.disabled = disabled


@contextlib.contextmanager
def every_task_message() -> Iterator[list[tuple[str, bytes]]]:
    """Record (and do not run) every Celery task sent, whichever way it is sent."""
    sent: list[tuple[str, bytes]] = []

    def apply_async(self: Task, args: Any = None, kwargs: Any = None, **options: Any) -> None:
        sent.append((self.name, flatten([args, kwargs, options])))

    def send_task(self: Any, name: str, args: Any = None, kwargs: Any = None, **options: Any) -> None:
        sent.append((name, flatten([args, kwargs, options])))

    def publish(self: Producer, body: Any, *args: Any, **kwargs: Any) -> None:
        sent.append(("kombu.Producer.publish", flatten([body, args, kwargs])))

    with (
        mock.patch.object(Task, "apply_async", apply_async),
        mock.patch("celery.app.base.Celery.send_task", send_task),
        mock.patch.object(Producer, "publish", publish),
    ):
        yield sent


def _temp_roots(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """The temp directory, minus what belongs to other processes running at the same time.

    Other pytest sessions' directories and browser profiles are skipped: a
    browser test running concurrently may upload the same photo, and what a
    browser keeps is on the client, not the server.
    """
    root = Path(tempfile.gettempdir())
    ours = tmp_path_factory.getbasetemp().resolve()
    skip = [p for p in root.glob("pytest-of-*/pytest-*") if p.is_dir() and p.resolve() != ours]
    skip += [p for p in root.iterdir() if p.name.startswith(("playwright", ".org.chromium", "snap-private"))]
    return root, skip


@pytest.fixture(params=sorted(PHOTOS))
def photo(request: pytest.FixtureRequest, vectors: Path) -> tuple[str, bytes, str]:
    relative, content_type = PHOTOS[request.param]
    path = vectors / relative
    return path.name, path.read_bytes(), content_type


def test_an_uploaded_photo_leaves_only_hashes_behind(
    photo: tuple[str, bytes, str],
    case: Case,
    advocate: Any,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    django_capture_on_commit_callbacks: Any,
) -> None:
    name, data, content_type = photo
    finder = PhotoFinder(data)
    client = login(advocate)
    started = time.time() - 1
    log_file = tmp_path / "upload.log"

    with (
        every_log_record(log_file) as log_memory,
        every_task_message() as tasks,
        django_capture_on_commit_callbacks(execute=True),
        no_temporary_files() as temp_attempts,
    ):
        response = client.post(
            reverse("cases-add-media", args=[case.reference]),
            {"file": SimpleUploadedFile(name, data, content_type=content_type), "label": "evidence"},
        )
        # Adding URLs queues a check: it shows the task recorder sees what is sent.
        client.post(reverse("cases-add-urls", args=[case.reference]), {"urls": "https://www.reddit.com/r/x/1/"})
        page = client.get(reverse("cases-view-case", args=[case.reference]))

    # The upload went through and was hashed from every byte.
    assert response.status_code == 302, response.content[:500]
    media = MediaItem.objects.get(case=case)
    assert Hash.objects.get(media=media, algorithm="sha256").value == hashlib.sha256(data).hexdigest()
    assert temp_attempts == [], "The upload created a temporary file"

    leaks = search_database(finder)
    media_root, var_dir = Path(django_settings.MEDIA_ROOT), Path(django_settings.VAR_DIR)
    leaks += search_files(finder, regular_files(media_root) if media_root.exists() else [])
    leaks += search_files(finder, regular_files(var_dir) if var_dir.exists() else [])
    temp_root, foreign = _temp_roots(tmp_path_factory)
    temp_files = list(regular_files(temp_root, since=started, skip=foreign))
    assert log_file.resolve() in {p.resolve() for p in temp_files}, "the temp directory scan missed our own log"
    leaks += search_files(finder, temp_files)
    log_text = log_memory.getvalue().encode()
    assert b"INSERT INTO" in log_text.upper(), "SQL was not logged: the log search would see too little"
    if hit := finder.find(log_text):
        leaks.append(f"log records: {hit}")
    assert any(task == check_url.name for task, _ in tasks), f"no task was recorded: {tasks}"
    leaks += [f"task {task}: {hit}" for task, body in tasks if (hit := finder.find(body))]
    if hit := finder.find(page.content + response.content):
        leaks.append(f"HTTP responses: {hit}")

    assert not leaks, "The photo's bytes were found:\n" + "\n".join(leaks)


# --- Each search finds the photo when it is there --------------------------------------


@pytest.fixture
def jpeg(vectors: Path) -> bytes:
    return (vectors / "pdq" / "bridge-mods" / "aaa-orig.jpg").read_bytes()


def _window(data: bytes, start: int) -> bytes:
    return data[start : start + WINDOW]


def test_the_search_finds_any_window_in_any_encoding(jpeg: bytes) -> None:
    finder = PhotoFinder(jpeg)
    noise = bytes(range(256)) * 37
    for start in (0, 1, 777, 4095, len(jpeg) - WINDOW):
        window = _window(jpeg, start)
        for prefix in (b"", b"x", b"xy"):  # every base64 alignment
            assert finder.find(noise + prefix + window + noise), start
            assert finder.find(noise + base64.b64encode(prefix + window) + noise), (start, prefix)
            assert finder.find(base64.urlsafe_b64encode(prefix + window)), (start, prefix)
        assert finder.find(noise + window.hex().encode() + noise), start
        assert finder.find(base64.encodebytes(window)), "MIME-wrapped base64"
    assert finder.find(noise) is None


def test_the_database_search_finds_a_planted_window(jpeg: bytes, case: Case) -> None:
    finder = PhotoFinder(jpeg)
    assert search_database(finder) == []
    with transaction.atomic():
        Event.objects.create(case=case, action="planted", data={"blob": base64.b64encode(_window(jpeg, 1001)).decode()})
        survivor = Survivor.objects.get(case=case)
        survivor.legal_name = _window(jpeg, 30_000).hex()  # an encrypted column: found only decrypted
        survivor.save(update_fields=["legal_name"])
        found = search_database(finder)
        transaction.set_rollback(True)
    assert any(f.startswith("model cases.Event") for f in found), found
    assert any(f.startswith(f"table {Event._meta.db_table}") for f in found), found
    assert any(f.startswith("model cases.Survivor") for f in found), found
    assert not any(f.startswith(f"table {Survivor._meta.db_table}") for f in found), "legal_name is not encrypted"


def test_the_file_search_finds_a_planted_window(jpeg: bytes, tmp_path_factory: pytest.TempPathFactory) -> None:
    finder = PhotoFinder(jpeg)
    started = time.time() - 1
    planted = tmp_path_factory.mktemp("planted") / "spill.bin"
    planted.write_bytes(b"header" + _window(jpeg, 5000) + b"trailer")
    temp_root, foreign = _temp_roots(tmp_path_factory)
    found = search_files(finder, regular_files(temp_root, since=started, skip=foreign))
    assert any(str(planted) in f for f in found), found
    # Large files are read in chunks: a window across a chunk boundary is still found.
    assert search_files(finder, [planted], chunk=3000), "missed across a chunk boundary"


def test_the_log_capture_finds_a_planted_window(jpeg: bytes, tmp_path: Path) -> None:
    finder = PhotoFinder(jpeg)
    log_file = tmp_path / "planted.log"
    with every_log_record(log_file) as memory:
        logging.getLogger("weasyprint").debug("deep and quiet: %s", _window(jpeg, 9000).hex())
    assert finder.find(log_file.read_bytes())
    assert finder.find(memory.getvalue().encode())
    assert logging.getLogger("weasyprint").level == logging.WARNING, "logger levels were not restored"


def test_the_task_capture_finds_a_planted_window(jpeg: bytes) -> None:
    finder = PhotoFinder(jpeg)
    with every_task_message() as tasks:
        check_url.delay(base64.b64encode(_window(jpeg, 2)).decode())
        check_url.apply_async(args=[_window(jpeg, 3)])
    assert len(tasks) == 2
    assert all(finder.find(body) for _task, body in tasks)


def test_the_temp_file_trap_catches_django_spilling_an_upload_to_disk(
    case: Case, advocate: Any, jpeg: bytes, settings: Any
) -> None:
    # Django's own handlers write uploads over FILE_UPLOAD_MAX_MEMORY_SIZE to a temporary file.
    settings.FILE_UPLOAD_HANDLERS = [
        "django.core.files.uploadhandler.MemoryFileUploadHandler",
        "django.core.files.uploadhandler.TemporaryFileUploadHandler",
    ]
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = login(advocate)
    with no_temporary_files() as attempts, pytest.raises(TempFileCreated):
        client.post(
            reverse("cases-add-media", args=[case.reference]),
            {"file": SimpleUploadedFile("a.jpg", jpeg, content_type="image/jpeg")},
        )
    assert attempts
