"""Full-text search over members, events, needs and chapters (Whoosh); wired in the search issue."""
