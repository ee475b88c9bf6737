"""The OpenAPI schema view, generated and rendered once per process.

drf-spectacular builds the schema on every request: it introspects every view and
serializer (~30 ms) and renders ~230 KB of YAML (~60 ms), about 90 ms of CPU for a
document that changes only with the code, which a deploy restarts (issue 17). So the
rendered bytes are kept, per format, language and API version asked for.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SCHEMA_KWARGS, SpectacularAPIView


class CachedSpectacularAPIView(SpectacularAPIView):
    """SpectacularAPIView whose rendered answer is computed once per (urlconf, version,
    language, media type) in each process: the schema is public and the same for every
    caller (SERVE_PUBLIC), so nothing about who asks goes into it."""

    _rendered: ClassVar[dict[tuple, tuple[bytes, str, str]]] = {}

    @extend_schema(**SCHEMA_KWARGS)  # as the parent's get: not an operation of the schema
    def get(self, request, *args, **kwargs):
        renderer, media_type = request.accepted_renderer, request.accepted_media_type
        version = self.api_version or request.version or self._get_version_parameter(request)
        lang = request.GET.get("lang") if settings.USE_I18N else None
        key = (settings.ROOT_URLCONF, self.urlconf, version, lang, type(renderer), media_type)
        cached = self._rendered.get(key)
        if cached is None:
            response = super().get(request, *args, **kwargs)
            context = {"request": request, "response": response, "view": self}
            content = renderer.render(response.data, media_type, context)
            content_type = f"{media_type}; charset={renderer.charset}" if renderer.charset else media_type
            cached = (content, content_type, response["Content-Disposition"])
            self._rendered[key] = cached
        content, content_type, disposition = cached
        return HttpResponse(content, content_type=content_type, headers={"Content-Disposition": disposition})
