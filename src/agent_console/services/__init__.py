"""Use cases over the store; nothing here imports Textual."""
