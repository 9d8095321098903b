"""`/ui`: the dashboard page, and the browser libraries it loads (see `vendor`)."""

from __future__ import annotations

from importlib import resources
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from breakout.gateway.vendor import ASSETS, VendorCache, VendorError

router = APIRouter(include_in_schema=False)


def _static(name: str) -> str:
    return resources.files("breakout.gateway").joinpath("static", name).read_text()


@router.get("/")
async def root() -> RedirectResponse:
    """The dashboard."""
    return RedirectResponse("/ui")


@router.get("/ui")
async def page() -> HTMLResponse:
    """The dashboard page."""
    return HTMLResponse(_static("ui.html"), headers={"Cache-Control": "no-cache"})


@router.get("/ui/app.js")
async def script() -> Response:
    """The dashboard's code."""
    return Response(
        _static("app.js"), media_type="text/javascript", headers={"Cache-Control": "no-cache"}
    )


@router.get("/ui/vendor/{name}")
async def vendor(request: Request, name: Annotated[str, Path(max_length=64)]) -> Response:
    """A pinned browser library, fetched from the npm registry on first use."""
    if name not in ASSETS:
        raise HTTPException(status_code=404, detail=f"no vendored asset {name!r}")
    cache: VendorCache = request.app.state.vendor
    try:
        content = await cache.get(name)
    except VendorError as exc:
        raise HTTPException(status_code=502, detail=str(exc)) from exc
    return Response(
        content,
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=86400, immutable"},
    )
