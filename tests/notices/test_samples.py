"""`manage.py notice_samples`: every basis rendered for a fictitious case, nothing kept."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from cases.models import Case, Organization
from notices.catalogue import load_catalogue
from notices.models import Notice, Platform


@pytest.mark.django_db
def test_it_writes_every_basis_as_html_pdf_and_text(tmp_path) -> None:  # type: ignore[no-untyped-def]
    platforms = Platform.objects.count()
    out = io.StringIO()
    call_command("notice_samples", out=str(tmp_path / "samples"), stdout=out)
    for basis_id, basis in load_catalogue().items():
        html = (tmp_path / "samples" / f"{basis_id}.html").read_text()
        text = (tmp_path / "samples" / f"{basis_id}.txt").read_text()
        assert (tmp_path / "samples" / f"{basis_id}.pdf").read_bytes().startswith(b"%PDF")
        assert basis.citation in text and "2026-11-22" in text
        assert "DRAFT" not in html and "Signed electronically by" in text
        assert "https://example-social.test/u/throwaway_4471/posts/88213" in text
    assert f"Wrote {len(load_catalogue())} samples" in out.getvalue()
    # The sample case was rolled back.
    assert not Organization.objects.filter(slug="sample-notices-org").exists()
    assert not Case.objects.exists() and not Notice.objects.exists()
    assert Platform.objects.count() == platforms


@pytest.mark.django_db
def test_it_can_render_one_basis(tmp_path) -> None:  # type: ignore[no-untyped-def]
    call_command("notice_samples", out=str(tmp_path), basis=["eu-dsa-art16"], stdout=io.StringIO())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eu-dsa-art16.html", "eu-dsa-art16.pdf", "eu-dsa-art16.txt"]


@pytest.mark.django_db
def test_it_refuses_an_unknown_basis(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError, match="no-such-law"):
        call_command("notice_samples", out=str(tmp_path), basis=["no-such-law"])
