"""Bulk historical import and its data-quality report (SPEC §2.2)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from tai_graph.intake import BadRecord
from tai_graph.model import JSON, IngestResult
from tai_graph.schema import TypeRegistry


@dataclass(slots=True)
class ImportReport:
    """What a bulk import did, for the person who has to trust the data."""

    records_read: int = 0
    imported: int = 0
    duplicates: int = 0
    conflicts: int = 0
    rejected: int = 0
    rejected_by_rule: Counter[str] = field(default_factory=Counter)
    rejected_by_field: Counter[str] = field(default_factory=Counter)
    optional_present: Counter[str] = field(default_factory=Counter)
    optional_expected: Counter[str] = field(default_factory=Counter)
    conflict_ids: list[str] = field(default_factory=list)
    examples: list[dict[str, JSON]] = field(default_factory=list)
    max_examples: int = 20

    def add(self, result: IngestResult, items: list[JSON | BadRecord], registry: TypeRegistry) -> None:
        for outcome, item in zip(result.outcomes, items, strict=True):
            self.records_read += 1
            if outcome.status == "created":
                self.imported += 1
                self._count_optional(item, registry)
            elif outcome.status == "duplicate":
                self.duplicates += 1
            elif outcome.status == "conflict":
                self.conflicts += 1
                if outcome.event_id and len(self.conflict_ids) < self.max_examples:
                    self.conflict_ids.append(outcome.event_id)
            else:
                self.rejected += 1
                for v in outcome.violations:
                    self.rejected_by_rule[v.rule] += 1
                    self.rejected_by_field[v.field] += 1
                if len(self.examples) < self.max_examples:
                    self.examples.append(outcome.to_dict())

    def _count_optional(self, item: JSON | BadRecord, registry: TypeRegistry) -> None:
        if not isinstance(item, dict):
            return
        etype = registry.get(str(item.get("transaction_type")))
        if etype is None:
            return
        data = item.get("data") or {}
        for spec in etype.fields.values():
            if not spec.required:
                key = f"{etype.name}.{spec.name}"
                self.optional_expected[key] += 1
                if data.get(spec.name) is not None:
                    self.optional_present[key] += 1

    def to_dict(self) -> dict[str, JSON]:
        missing = {
            key: format(
                (Decimal(total - self.optional_present[key]) / Decimal(total)).quantize(Decimal("0.0001")),
                "f",
            )
            for key, total in sorted(self.optional_expected.items())
        }
        return {
            "records_read": self.records_read,
            "imported": self.imported,
            "duplicates": self.duplicates,
            "conflicts": self.conflicts,
            "rejected": self.rejected,
            "rejected_by_rule": dict(sorted(self.rejected_by_rule.items())),
            "rejected_by_field": dict(sorted(self.rejected_by_field.items())),
            "missing_optional_share": missing,
            "conflicting_event_ids": self.conflict_ids,
            "rejected_examples": self.examples,
        }


def run_import(
    items: Iterable[JSON | BadRecord],
    ingest: Callable[[list[JSON | BadRecord]], IngestResult],
    registry: TypeRegistry,
    *,
    batch_size: int = 1000,
) -> ImportReport:
    """Feed ``items`` to ``ingest`` in batches (each batch committed on its own) and report."""
    report = ImportReport()
    batch: list[JSON | BadRecord] = []
    for item in items:
        batch.append(item)
        if len(batch) >= batch_size:
            report.add(ingest(batch), batch, registry)
            batch = []
    if batch:
        report.add(ingest(batch), batch, registry)
    return report
