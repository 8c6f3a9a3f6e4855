"""The report's sections: each builds its blocks from the results (no computation here)."""
