"""Writing to the audit log."""

from typing import Any

from campagne.audit.models import AuditEntry


def record(
    *,
    actor: Any,
    action: str,
    subject: str,
    row_count: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    label = getattr(actor, "email", "") or (str(actor) if actor else "system")
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=label,
        action=action,
        subject=subject,
        row_count=row_count,
        details=details or {},
    )
