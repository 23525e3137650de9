"""Design workshops: agenda, live room, ideas, clusters and dot votes."""
