"""Regression decisions: the rule (decision), two stores compared (compare), two models alternated (ab)."""
