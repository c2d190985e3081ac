"""What ``koito-import`` runs, one module per command that has more to do than a few lines."""
