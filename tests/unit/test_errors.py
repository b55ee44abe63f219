"""errors.py: messages say what the configuration says, not a constant."""

from webhookd.errors import KeyReused


def test_a_reused_key_names_the_window_it_was_used_in() -> None:
    assert "in the last 24 h " in KeyReused(0, 86_400_000).message
    assert "in the last 1.5 s " in KeyReused(3, 1500).message
    assert KeyReused(3, 1500).index == 3
