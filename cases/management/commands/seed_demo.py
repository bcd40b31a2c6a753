"""Create the demo organisation with an admin and an advocate, printing their passwords once."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from cases.models import Membership, Organization, Role

DEMO_USERS = [("admin@demo.redress.test", Role.ADMIN, True), ("advocate@demo.redress.test", Role.ADVOCATE, False)]


class Command(BaseCommand):
    help = "Create a demo organisation with an admin and an advocate (passwords are printed once, never stored)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--reset-passwords", action="store_true", help="Set and print new demo passwords.")

    @transaction.atomic
    def handle(self, *args: Any, reset_passwords: bool = False, **options: Any) -> None:
        org, _created = Organization.objects.get_or_create(slug="demo", defaults={"name": "Demo Support Service"})
        user_model = get_user_model()
        printed: list[tuple[str, str, Role]] = []
        for email, role, is_staff in DEMO_USERS:
            user, created = user_model.objects.get_or_create(username=email, defaults={"email": email})
            if created or reset_passwords:
                password = secrets.token_urlsafe(12)
                user.set_password(password)
                user.is_staff = user.is_superuser = is_staff
                user.save()
                printed.append((email, password, role))
            Membership.objects.get_or_create(user=user, organization=org, defaults={"role": role})
        if not printed:
            self.stdout.write(
                "Demo organisation already set up (run `manage.py seed_demo --reset-passwords` for new passwords)."
            )
            return
        self.stdout.write(self.style.SUCCESS("Demo organisation ready. These passwords are shown once:"))
        for email, password, role in printed:
            self.stdout.write(f"  {role:9} {email}  password: {password}")
