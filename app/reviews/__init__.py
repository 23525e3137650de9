"""Page ownership and review cycles."""
