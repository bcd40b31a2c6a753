"""factory_boy factories for the personas and objects the tests need."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from cases.models import Case, Membership, Organization, ReportedURL, Role, Survivor
from cases.references import new_reference


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Support service {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}@example.org")
    email = factory.SelfAttribute("username")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")

    @factory.post_generation
    def _save(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.ADVOCATE


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case

    organization = factory.SubFactory(OrganizationFactory)
    reference = factory.LazyFunction(new_reference)
    content_kind = "real"
    minor_path = False


class SurvivorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Survivor

    case = factory.SubFactory(CaseFactory)
    pseudonym = "Robin"
    legal_name = "Robin Example"
    email = "robin@example.org"
    phone = "+1 555 0100"
    country = "US"
    region = "CA"
    consent_act_on_behalf = True
    consent_share_hashes = False
    under_18_in_content = "no"


class ReportedURLFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReportedURL

    case = factory.SubFactory(CaseFactory)
    url = factory.Sequence(lambda n: f"https://www.reddit.com/r/example/comments/{n}/")
    domain = "reddit.com"
