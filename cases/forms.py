from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import ContentKind, MinorAnswer, Organization
from .services import MAX_URLS_PER_PASTE

# ISO 3166-1 codes of the jurisdictions Redress has notices for, then the rest
# can be typed: the list grows with the notices issue.
COUNTRIES = [
    ("US", _("United States")),
    ("GB", _("United Kingdom")),
    ("AU", _("Australia")),
    ("CA", _("Canada")),
    ("IE", _("Ireland")),
    ("DE", _("Germany")),
    ("FR", _("France")),
    ("ES", _("Spain")),
    ("IT", _("Italy")),
    ("NL", _("Netherlands")),
    ("NZ", _("New Zealand")),
    ("IN", _("India")),
    ("ZA", _("South Africa")),
]


class OpenCaseForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=Organization.objects.none(), label=_("Organisation"))
    pseudonym = forms.CharField(
        required=False,
        max_length=200,
        label=_("Pseudonym"),
        help_text=_("A name to tell this case apart. It does not have to be real."),
    )
    legal_name = forms.CharField(
        required=False,
        max_length=200,
        label=_("Legal name"),
        help_text=_("Optional. Some notices are stronger with it; it is encrypted."),
    )
    email = forms.EmailField(required=False, label=_("Email"))
    phone = forms.CharField(required=False, max_length=40, label=_("Phone"))
    country = forms.ChoiceField(choices=COUNTRIES, label=_("Country where they live"))
    region = forms.CharField(required=False, max_length=100, label=_("State or region"))
    content_kind = forms.ChoiceField(
        choices=ContentKind.choices, initial=ContentKind.UNKNOWN, label=_("What kind of content is it?")
    )
    under_18_in_content = forms.ChoiceField(
        choices=MinorAnswer.choices,
        widget=forms.RadioSelect,
        label=_("Was the person under 18 in the photo or video?"),
        help_text=_("If yes or not sure, we show you services that specialise in this and never fetch the content."),
    )
    consent_act_on_behalf = forms.BooleanField(
        required=False, label=_("They agree that we may act on their behalf (send notices for them).")
    )
    consent_share_hashes = forms.BooleanField(
        required=False, label=_("They agree that we may share the image fingerprints (hashes) with platforms.")
    )

    def __init__(self, *args: Any, organizations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["organization"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = organizations
        if organizations.count() == 1:
            field.initial = organizations.first()
            field.widget = forms.HiddenInput()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (data.get("pseudonym", "").strip() or data.get("legal_name", "").strip()):
            raise forms.ValidationError(_("Give a name or a pseudonym so the case can be told apart."))
        return data


class MediaUploadForm(forms.Form):
    file = forms.FileField(label=_("Photo"), help_text=_("The photo is hashed in memory and then discarded."))
    label = forms.CharField(required=False, max_length=200, label=_("Label (optional)"))


class URLPasteForm(forms.Form):
    urls = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "autocapitalize": "off"}),
        label=_("Web addresses, one per line"),
        help_text=_("Paste up to %(n)s addresses where the content appears.") % {"n": MAX_URLS_PER_PASTE},
    )
    csv_file = forms.FileField(
        required=False,
        label=_("Or a CSV file"),
        help_text=_("A spreadsheet saved as CSV: a column named “url”, or the addresses in the first column."),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (data.get("urls") or "").strip() and not data.get("csv_file"):
            raise forms.ValidationError(_("Paste at least one web address, or choose a CSV file."))
        return data
