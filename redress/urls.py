from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.routers import SimpleRouter

from cases import api as cases_api
from cases import views as cases_views
from hashing import api as hashing_api
from notices import api as notices_api
from notices import views as notices_views

from . import views

router = SimpleRouter()
router.register("cases", cases_api.CaseViewSet, basename="api-case")

case_patterns = [
    path("", cases_views.view_case, name="cases-view-case"),
    path("media/", cases_views.add_media, name="cases-add-media"),
    path("urls/", cases_views.add_urls_view, name="cases-add-urls"),
    path("urls/check/", cases_views.check_urls_view, name="cases-check-urls"),
    path("notices/", notices_views.create_notice_view, name="notices-create-notice"),
    path("notices/<int:notice_id>/", notices_views.view_notice, name="notices-view-notice"),
    path("notices/<int:notice_id>/pdf/", notices_views.notice_pdf, name="notices-download-pdf"),
    path("notices/<int:notice_id>/sent/", notices_views.mark_sent_view, name="notices-mark-sent"),
]

urlpatterns = [
    path("", cases_views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("cases/", cases_views.list_cases, name="cases-list-cases"),
    path("cases/new/", cases_views.open_case_view, name="cases-open-case"),
    path("cases/<str:reference>/", include(case_patterns)),
    path("api/v1/", include(router.urls)),
    path("api/v1/cases/<str:reference>/media/", hashing_api.CaseMediaView.as_view(), name="api-case-media"),
    path("api/v1/cases/<str:reference>/notices/", notices_api.CaseNoticesView.as_view(), name="api-case-notices"),
    path(
        "api/v1/cases/<str:reference>/notices/<int:notice_id>/",
        notices_api.NoticeDetailView.as_view(),
        name="api-case-notice",
    ),
    path("api/v1/auth/token/", views.obtain_token, name="api-obtain-token"),
    # The schema maps every endpoint: for signed-in callers only, like the API it describes.
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]), name="api-schema"),
    path("admin/", admin.site.urls),
]
