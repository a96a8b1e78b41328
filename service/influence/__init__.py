"""Influence profiles: clout (real-world pull) and Klout (online reach), side by side."""
