"""How one process's budget of PostgreSQL connections is shared between its pools (ADR 0021)."""

import pytest

from tessera.store.database import ConnectionBudget


@pytest.mark.parametrize(
    ("total", "main", "hot"),
    [(1, 1, 0), (4, 4, 0), (5, 4, 1), (10, 8, 2), (19, 16, 3), (20, 16, 4), (200, 196, 4)],
)
def test_the_credential_check_gets_a_fifth_at_most_four_and_the_rest_goes_to_the_main_pool(
    total: int, main: int, hot: int
) -> None:
    budget = ConnectionBudget(total)

    assert (budget.main, budget.hot) == (main, hot)
    assert budget.main + budget.hot == total


@pytest.mark.parametrize(("total", "wait"), [(0, 10.0), (10, 0.0)])
def test_a_budget_holds_a_connection_and_waits_a_while_for_one(total: int, wait: float) -> None:
    with pytest.raises(ValueError, match="at least one connection"):
        ConnectionBudget(total, wait_seconds=wait)
