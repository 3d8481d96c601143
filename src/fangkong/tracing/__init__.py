"""流调溯源: contacts of positives, transmission chains and clusters (RULES §2)."""
