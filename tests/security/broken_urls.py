"""The product's URLs plus one view under /api/ and one page that fail on the server, to see
how a 500 is answered."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from incidentdesk.urls import urlpatterns as product


def broken(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("the disk is full")


urlpatterns = [path("api/v1/broken", broken), path("broken", broken), *product]
