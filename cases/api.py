"""API for cases and their URLs, scoped exactly like the pages."""

from __future__ import annotations

from typing import Any

from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from notices.models import Platform

from .models import Case, ContentKind, MinorAnswer, Organization, ReportedURL
from .services import SurvivorDetails, add_urls, cases_for, get_case_for, open_case, user_or_none


class CaseSerializer(serializers.ModelSerializer[Case]):
    organization: serializers.SlugRelatedField[Organization] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = Case
        fields = ["reference", "organization", "status", "content_kind", "minor_path", "created_at", "updated_at"]
        read_only_fields = fields


class OpenCaseSerializer(serializers.Serializer[Any]):
    organization = serializers.SlugField()
    pseudonym = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    legal_name = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    phone = serializers.CharField(required=False, allow_blank=True, max_length=40, default="")
    country = serializers.RegexField(r"^[A-Za-z]{2}$")
    region = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    content_kind = serializers.ChoiceField(choices=ContentKind.choices, default=ContentKind.UNKNOWN)
    under_18_in_content = serializers.ChoiceField(choices=MinorAnswer.choices)
    consent_act_on_behalf = serializers.BooleanField(default=False)
    consent_share_hashes = serializers.BooleanField(default=False)


class ReportedURLSerializer(serializers.ModelSerializer[ReportedURL]):
    platform: serializers.SlugRelatedField[Platform] = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = ReportedURL
        fields = ["id", "url", "domain", "platform", "status", "created_at"]
        read_only_fields = fields


class AddURLsSerializer(serializers.Serializer[Any]):
    urls = serializers.ListField(child=serializers.CharField(max_length=4096, allow_blank=True), max_length=10_000)


class CaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Case]):
    """Cases of the organisations the caller belongs to. Lists are not audited per case; reads are."""

    queryset = Case.objects.none()
    serializer_class = CaseSerializer
    lookup_field = "reference"
    lookup_value_regex = r"[A-Za-z0-9-]+"

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return cases_for(self.request.user).select_related("organization")

    def get_object(self) -> Case:
        return get_case_for(self.request.user, self.kwargs["reference"])

    def get_serializer_class(self):  # type: ignore[no-untyped-def]
        if self.action == "create":
            return OpenCaseSerializer
        if self.action == "urls":
            return AddURLsSerializer if self.request.method == "POST" else ReportedURLSerializer
        return CaseSerializer

    def create(self, request: Request) -> Response:
        serializer = OpenCaseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        organization = Organization.objects.filter(
            slug=data.pop("organization"), memberships__user=user_or_none(request.user)
        ).first()
        if organization is None:
            return Response({"detail": "No such organisation.", "code": "not_found"}, status=404)
        case = open_case(actor=request.user, organization=organization, details=SurvivorDetails(**data))
        return Response(CaseSerializer(case).data, status=201)

    @action(detail=True, methods=["get", "post"])
    def urls(self, request: Request, reference: str) -> Response:
        case = self.get_object()
        if request.method == "GET":
            return Response(ReportedURLSerializer(case.urls.select_related("platform"), many=True).data)
        serializer = AddURLsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = add_urls(case, serializer.validated_data["urls"], actor=request.user)
        return Response(
            {
                "added": ReportedURLSerializer(result.added, many=True).data,
                "duplicates": result.duplicates,
                "errors": [{"line": n, "text": t, "reason": r} for n, t, r in result.errors],
            },
            status=201 if result.added else 200,
        )


CaseViewSet.create.__doc__ = "Open a case. Requires the admin or advocate role in the organisation."
