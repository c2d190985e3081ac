"""Checks that a URL really serves an image before it is stored (docs/external-apis.md §6)."""

from __future__ import annotations

from dataclasses import dataclass

from koito_assets.enrich.http import HttpFailure, HttpService

IMAGE_ACCEPT = {"Accept": "image/*"}


@dataclass(frozen=True)
class ImageCheck:
    """The result of checking one URL: ok, or why not and whether it may pass later."""

    ok: bool
    reason: str = ""
    transient: bool = False


class ImageValidator:
    """HEAD the URL, following redirects: only a final 200 with an ``image/*`` type passes.

    Origins that refuse HEAD (405/501) get a streamed GET whose body is never read.
    """

    def __init__(self, service: HttpService) -> None:
        self.service = service

    def check(self, url: str) -> ImageCheck:
        try:
            response = self.service.request("HEAD", url, headers=IMAGE_ACCEPT)
            if response.status_code in (405, 501):
                response = self.service.request("GET", url, headers=IMAGE_ACCEPT, stream=True)
                response.close()
        except HttpFailure as exc:
            return ImageCheck(False, f"image check: {exc.reason}", exc.transient)
        if response.status_code != 200:
            return ImageCheck(False, f"image check: HTTP {response.status_code}")
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if not content_type.startswith("image/"):
            return ImageCheck(
                False, f"image check: not an image ({content_type or 'no content type'})"
            )
        return ImageCheck(True)
