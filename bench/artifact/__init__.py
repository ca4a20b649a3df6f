"""The artifact cache: exported models kept by content, staged and renamed into place."""
