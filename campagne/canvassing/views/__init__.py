"""Field pages, one module per audience: organizers, the volunteers' field app, the
dashboards, and phone banking."""
