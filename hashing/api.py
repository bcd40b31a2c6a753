"""API for a case's media: hashes in, hashes out. Never media."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.errors import CaseError
from cases.services import get_case_for

from .models import Hash, MediaItem, MediaKind
from .services import add_client_hashes


class HashSerializer(serializers.ModelSerializer[Hash]):
    class Meta:
        model = Hash
        fields = ["algorithm", "version", "value", "quality"]


class MediaSerializer(serializers.ModelSerializer[MediaItem]):
    hashes = HashSerializer(many=True, read_only=True)

    class Meta:
        model = MediaItem
        fields = ["id", "kind", "source", "width", "height", "created_at", "hashes"]


class AddHashesSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=MediaKind.choices, default=MediaKind.IMAGE)
    # "label" shadows Field.label in the stubs; at run time it is an ordinary declared field.
    label = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")  # type: ignore[assignment]
    pdq = serializers.CharField(required=False, max_length=64)
    pdq_quality = serializers.IntegerField(required=False, min_value=0, max_value=100, allow_null=True, default=None)
    phash = serializers.CharField(required=False, max_length=16)
    dhash = serializers.CharField(required=False, max_length=16)
    md5 = serializers.CharField(required=False, max_length=32)
    sha256 = serializers.CharField(required=False, max_length=64)


class CaseMediaView(APIView):
    """GET lists the case's media with their hashes; POST adds hashes computed on the device."""

    @extend_schema(responses=MediaSerializer(many=True))
    def get(self, request: Request, reference: str) -> Response:
        case = get_case_for(request.user, reference)
        return Response(MediaSerializer(case.media.prefetch_related("hashes"), many=True).data)

    @extend_schema(request=AddHashesSerializer, responses={201: MediaSerializer})
    def post(self, request: Request, reference: str) -> Response:
        case = get_case_for(request.user, reference)
        serializer = AddHashesSerializer(data=request.data)
        # A hash the client believes it stored must not be dropped silently (e.g. "sha1", "vpdq").
        unknown = sorted(set(request.data) - set(serializer.fields)) if isinstance(request.data, Mapping) else []
        if unknown:
            raise CaseError(
                f"Unknown hash algorithm or field: {', '.join(unknown)}. Known: {', '.join(serializer.fields)}.",
                code="unknown_algorithm",
            )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        hashes = {k: data[k] for k in ("pdq", "phash", "dhash", "md5", "sha256") if data.get(k)}
        media = add_client_hashes(
            case,
            actor=request.user,
            hashes=hashes,
            pdq_quality=data["pdq_quality"],
            kind=data["kind"],
            label=data["label"],
        )
        return Response(MediaSerializer(media).data, status=201)
