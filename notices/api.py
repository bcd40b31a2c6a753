"""API for a case's notices."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.services import get_case_for

from .models import Notice, Platform
from .services import create_notice


class NoticeSerializer(serializers.ModelSerializer[Notice]):
    platform: serializers.SlugRelatedField[Platform] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    urls: serializers.RelatedField[Any, Any, Any] = serializers.SlugRelatedField(
        slug_field="url", many=True, read_only=True
    )

    class Meta:
        model = Notice
        fields = [
            "id",
            "basis",
            "platform",
            "urls",
            "status",
            "created_at",
            "signed_at",
            "signer_capacity",
            "pdf_sha256",
            "sent_at",
            "deadline_at",
        ]
        read_only_fields = fields


class CreateNoticeSerializer(serializers.Serializer[Any]):
    platform = serializers.SlugField()
    basis = serializers.CharField(max_length=64)


class CaseNoticesView(APIView):
    serializer_class = CreateNoticeSerializer

    # A list, not a retrieve: without this its operationId collides with NoticeDetailView's.
    @extend_schema(operation_id="v1_cases_notices_list", responses=NoticeSerializer(many=True))
    def get(self, request: Request, reference: str) -> Response:
        case = get_case_for(request.user, reference)
        notices = case.notices.select_related("platform").prefetch_related("urls")
        return Response(NoticeSerializer(notices, many=True).data)

    @extend_schema(request=CreateNoticeSerializer, responses={201: NoticeSerializer})
    def post(self, request: Request, reference: str) -> Response:
        case = get_case_for(request.user, reference)
        serializer = CreateNoticeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            platform = Platform.objects.get(slug=serializer.validated_data["platform"])
        except Platform.DoesNotExist as exc:
            raise Http404("No such platform.") from exc
        notice = create_notice(case, platform, serializer.validated_data["basis"], actor=request.user)
        return Response(NoticeSerializer(notice).data, status=201)


class NoticeDetailView(APIView):
    serializer_class = NoticeSerializer

    def get(self, request: Request, reference: str, notice_id: int) -> Response:
        case = get_case_for(request.user, reference)
        notice = case.notices.filter(pk=notice_id).select_related("platform").first()
        if notice is None:
            raise Http404("No such notice in this case.")
        return Response(NoticeSerializer(notice).data)
