from __future__ import annotations

from django import forms

from incidentdesk.core.text import TextField

from .schema import Policy


class GuidelineForm(forms.Form):
    type = forms.ChoiceField(label="Type")
    severity = forms.ChoiceField(label="Severity", required=False)
    steps = TextField(
        label="Checklist steps (one per line)",
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=20_000,
    )
    policy_version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: object, policy: Policy, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["type"].choices = [(k, t.label) for k, t in policy.types.items()]  # type: ignore[attr-defined]
        self.fields["severity"].choices = [("", "Any severity")] + [  # type: ignore[attr-defined]
            (k, s.label) for k, s in policy.severities.items()
        ]

    def clean_steps(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["steps"].splitlines()]
        steps = [line for line in lines if line]
        if not steps:
            raise forms.ValidationError("A guideline has at least one step.")
        long = [s for s in steps if len(s) > 300]
        if long:
            raise forms.ValidationError(f"A step has at most 300 characters: “{long[0][:40]}…”.")
        return steps
