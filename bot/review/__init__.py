"""After the incident: timeline pins, post-incident review, action items, stats, metrics, closing."""
