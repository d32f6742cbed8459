"""pyiron_appmlip."""
