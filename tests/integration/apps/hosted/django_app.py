"""A single-module Django project, written the way Django's docs write one (it knows nothing of heron).

Settings, views and URLs live in this one file. Sessions use the signed-cookie
backend, so no database is needed. ``application`` is the WSGI handler and
``asgi_application`` the ASGI one: tests/integration/test_hosted_apps.py
serves each with ``heron path/to/django_app.py:application`` (or
``:asgi_application``) and drives it with real HTTP clients, through the
flows every hosted app shares; tests/integration/test_hosted_django.py
checks what only Django does.
"""

import asyncio
import hashlib
import json
import time
from pathlib import Path

from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="not-a-secret-only-for-tests",
    ALLOWED_HOSTS=["127.0.0.1", "localhost", "[::1]"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[],
    DATABASES={},
    MIDDLEWARE=[
        "django.middleware.security.SecurityMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        f"{__name__}.OutOfStockMiddleware",
    ],
    SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}],
    FILE_UPLOAD_MAX_MEMORY_SIZE=1024 * 1024,  # bigger uploads go to a temporary file
    DATA_UPLOAD_MAX_MEMORY_SIZE=10 * 1024 * 1024,
    USE_TZ=True,
    LOGGING={
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"console": {"class": "logging.StreamHandler"}},
        "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR"}},
    },
)

import django  # noqa: E402

django.setup()  # a standalone project: configured above, set up before the rest of Django is imported

from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.exceptions import PermissionDenied  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import (FileResponse, Http404, HttpResponse, HttpResponseBadRequest,  # noqa: E402
                         HttpResponseRedirect, JsonResponse, StreamingHttpResponse)
from django.shortcuts import redirect  # noqa: E402
from django.template import engines  # noqa: E402
from django.urls import path, reverse  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402
from django.views.decorators.http import require_http_methods, require_POST, require_safe  # noqa: E402

MESSAGES = []


class OutOfStock(Exception):
    def __init__(self, item):
        super().__init__(item)
        self.item = item


class OutOfStockMiddleware:
    """Turns OutOfStock, raised by any view, into a 409 (Django's process_exception hook)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, OutOfStock):
            return JsonResponse({"error": "out of stock", "item": exception.item}, status=409)
        return None

FORM = engines["django"].from_string("""<!doctype html>
<form method="post" action="{% url 'form' %}">{% csrf_token %}
  <input name="author"> <textarea name="text"></textarea> <button>Send</button>
</form>""")


@csrf_exempt  # an API endpoint for scripts, not a form
@require_http_methods(["GET", "HEAD", "POST"])
def json_endpoint(request):
    if request.method != "POST":
        return JsonResponse({"framework": "django", "message": "hello", "numbers": [1, 2, 3]})
    try:
        data = json.loads(request.body)
    except ValueError:
        return HttpResponseBadRequest("not JSON")
    return JsonResponse({"received": data, "total": sum(data.get("numbers", []))})


@require_safe
def item(request, item_id):
    return JsonResponse({"item_id": item_id, "q": request.GET.get("q"), "tags": request.GET.getlist("tag")})


@require_safe
def hello(request, name):
    greeting = request.GET.get("greeting", "hello")
    return JsonResponse({"name": name, "greeting": greeting, "text": f"{greeting}, {name}!"})


@require_http_methods(["GET", "HEAD", "POST"])
def message_form(request):
    if request.method == "POST":
        MESSAGES.append({"author": request.POST["author"], "text": request.POST["text"]})
        return HttpResponseRedirect(reverse("message", args=[len(MESSAGES)]))
    return HttpResponse(FORM.render({}, request))


@require_safe
def message(request, message_id):
    if not 1 <= message_id <= len(MESSAGES):
        raise Http404("no such message")
    return JsonResponse(MESSAGES[message_id - 1])


@require_POST
def upload(request):
    uploaded = request.FILES["file"]
    digest = hashlib.sha256()
    for chunk in uploaded.chunks():
        digest.update(chunk)
    return JsonResponse({"filename": uploaded.name, "content_type": uploaded.content_type, "size": uploaded.size,
                         "sha256": digest.hexdigest(), "note": request.POST.get("note"),
                         "on_disk": hasattr(uploaded, "temporary_file_path")})


@require_safe
def login(request):
    request.session["user"] = request.GET["user"]
    request.session["visits"] = 0
    response = redirect("whoami")
    response.set_cookie("flavour", request.GET.get("flavour", "plain"), httponly=True, samesite="Lax")
    return response


@require_safe
def logout(request):
    request.session.flush()
    response = JsonResponse({"user": None})
    response.delete_cookie("flavour")
    return response


@require_safe
def whoami(request):
    if "user" not in request.session:
        return JsonResponse({"user": None}, status=401)
    request.session["visits"] += 1
    return JsonResponse({"user": request.session["user"], "visits": request.session["visits"],
                         "flavour": request.COOKIES.get("flavour")})


def _stream_params(request):
    return int(request.GET.get("n", 4)), float(request.GET.get("delay", 0.25)), request.GET.get("who", "you")


@require_safe
def stream(request):
    """A synchronous generator: streams when served over WSGI."""
    count, delay, who = _stream_params(request)

    def generate():
        for i in range(count):
            if i:
                time.sleep(delay)
            yield f"chunk {i} of {count} for {who}\n"

    return StreamingHttpResponse(generate(), content_type="text/plain")


@require_safe
def astream(request):
    """An asynchronous generator: streams when served over ASGI."""
    count, delay, who = _stream_params(request)

    async def generate():
        for i in range(count):
            if i:
                await asyncio.sleep(delay)
            yield f"chunk {i} of {count} for {who}\n"

    return StreamingHttpResponse(generate(), content_type="text/plain")


@require_safe
def download(request):
    return FileResponse(open(Path(__file__), "rb"), as_attachment=True, filename="django_app.py",
                        content_type="text/x-python")


@require_safe
def whereami(request):
    return JsonResponse({"url": request.build_absolute_uri(), "path": request.path, "path_info": request.path_info,
                         "script_name": request.META["SCRIPT_NAME"], "remote_addr": request.META["REMOTE_ADDR"],
                         "secure": request.is_secure(), "whoami": reverse("whoami")})


@require_safe
def buy(request, item):
    raise OutOfStock(item)


@require_safe
def forbidden(request):
    raise PermissionDenied("members only")


@require_safe
def crash(request):
    raise RuntimeError("django-secret-detail: the database password is hunter2")


urlpatterns = [
    path("json", json_endpoint),
    path("items/<int:item_id>", item),
    path("hello/<str:name>", hello),
    path("form", message_form, name="form"),
    path("messages/<int:message_id>", message, name="message"),
    path("upload", upload),
    path("login", login),
    path("logout", logout),
    path("whoami", whoami, name="whoami"),
    path("stream", stream),
    path("astream", astream),
    path("download", download),
    path("whereami", whereami),
    path("buy/<str:item>", buy),
    path("forbidden", forbidden),
    path("crash", crash),
]

application = get_wsgi_application()
asgi_application = get_asgi_application()
