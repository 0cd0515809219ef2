"""Field work in the API (/api/v1/canvassing/): one router, assembled from the modules
that hold each part."""

from ninja import Router

router = Router(tags=["canvassing"])


def _add_field_routes() -> None:
    # Recording doors and reports (the field app's sync, OSDI record_canvass).
    from campagne.canvassing.api_field import router as field_router

    router.add_router("", field_router)


_add_field_routes()


def _add_organize_routes() -> None:
    # Campaigns, turfs with their walk order, sessions and claims.
    from campagne.canvassing.api_organize import router as organize_router

    router.add_router("", organize_router)


_add_organize_routes()


def _add_stats_routes() -> None:
    # A campaign's results, as on its dashboard.
    from campagne.canvassing.api_stats import router as stats_router

    router.add_router("", stats_router)


_add_stats_routes()
