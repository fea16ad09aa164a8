"""Monthly settlement: charge every running agreement once per period, book it, and document it."""
