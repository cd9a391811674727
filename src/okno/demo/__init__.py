"""``okno demo``: a help desk full of realistic conversations, for trying Okno out."""
