"""The chat widget's settings: which sites may embed it, how it looks, its pre-chat topics."""
