"""Field work in the API (/api/v1/canvassing/): one router, assembled from the modules
that hold each part."""

from ninja import Router

router = Router(tags=["canvassing"])
