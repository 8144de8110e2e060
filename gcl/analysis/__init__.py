"""Analyses of trained methods (sits above methods: it takes a trained one)."""

from gcl.analysis.compactness import node_compactness, plot_compactness

__all__ = ["node_compactness", "plot_compactness"]
