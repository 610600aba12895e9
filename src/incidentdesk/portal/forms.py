from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from incidentdesk.core.text import TextField
from incidentdesk.policy.selectors import active_policy
from incidentdesk.statuspage.models import Component

from .files import Upload


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        if not data:
            return []
        items = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(item, initial) for item in items]


def uploads_from(received: list[UploadedFile]) -> list[Upload]:
    """Read what was sent, but never more than one byte past the per-file limit."""
    limit = settings.ATTACHMENT_MAX_BYTES
    uploads = []
    for item in received:
        size = item.size or 0
        data = item.read(limit + 1) if size <= limit else b""
        uploads.append(Upload(item.name or "file", data, declared_size=size))
    return uploads


def problem_type_choices() -> list[tuple[str, str]]:
    _, policy = active_policy()
    return [("", "I am not sure")] + [(key, t.label) for key, t in policy.types.items()]


class ReportForm(forms.Form):
    title = TextField(label="What is wrong?", max_length=200, multiline=False)
    problem_type = forms.ChoiceField(label="Kind of problem", required=False)
    component = forms.ModelChoiceField(
        label="Which service or component",
        queryset=Component.objects.none(),
        required=False,
        empty_label="I am not sure",
    )
    started_at = forms.DateTimeField(
        label="When did it start?",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    users_affected = forms.IntegerField(
        label="How many of your users are affected?", required=False, min_value=0
    )
    description = TextField(
        label="What happened? What did you expect instead?",
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    steps = TextField(
        label="Steps to reproduce", required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    attachments = MultipleFileField(label="Screenshots, logs or other files")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["problem_type"].choices = problem_type_choices()  # type: ignore[attr-defined]
        self.fields["component"].queryset = Component.objects.all()  # type: ignore[attr-defined]


class CommentForm(forms.Form):
    body = TextField(label="Comment", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    attachments = MultipleFileField(label="Add files")


class AnswerForm(forms.Form):
    request = forms.IntegerField(widget=forms.HiddenInput)
    answer = TextField(label="Your answer", widget=forms.Textarea(attrs={"rows": 3}))
