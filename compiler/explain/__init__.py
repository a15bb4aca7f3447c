"""Explanations of results: counterfactuals, memos and documentation rendered with Jinja."""
