from django.urls import path, re_path

from . import views

app_name = "portal"
REF = r"(?P<ref>[Ii][Nn][Cc]-[0-9]{1,18})"
urlpatterns = [
    path("", views.index, name="index"),
    path("report/", views.report, name="report"),
    path("checklist/", views.checklist, name="checklist"),
    path("files/<int:attachment_id>/", views.attachment, name="attachment"),
    re_path(rf"^{REF}/$", views.detail, name="detail"),
    re_path(rf"^incidents/{REF}/?$", views.detail_redirect, name="detail-redirect"),
    re_path(rf"^{REF}/answer$", views.answer, name="answer"),
    re_path(rf"^{REF}/comment$", views.comment, name="comment"),
    re_path(rf"^{REF}/follow$", views.follow, name="follow"),
    re_path(rf"^{REF}/join$", views.join, name="join"),
]
