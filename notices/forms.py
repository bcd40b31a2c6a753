from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import SignerCapacity


class SignNoticeForm(forms.Form):
    full_name = forms.CharField(max_length=200, label=_("Your full name"), help_text=_("Typing it is your signature."))
    capacity = forms.ChoiceField(choices=SignerCapacity.choices, label=_("You are signing as"))
    attest = forms.BooleanField(label=_("I confirm the statements above are true."))

    def __init__(self, *args: Any, capacities: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["capacity"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(v, label) for v, label in SignerCapacity.choices if v in capacities]
        if len(field.choices) == 1:
            field.initial = field.choices[0][0]
