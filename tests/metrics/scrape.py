"""Reading ``GET /metrics`` as Prometheus does: one sample's value, by name and labels."""

import httpx
from prometheus_client.parser import text_string_to_metric_families


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(api: httpx.Client, name: str, **labels: str) -> float:
    """The sample now (0 when absent: a counter no event has touched yet)."""
    answer = api.get("/metrics")
    assert answer.status_code == 200, answer.text
    return samples(answer.text).get((name, frozenset(labels.items())), 0.0)
