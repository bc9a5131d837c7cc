"""pb_ssr_django: the django adapter of pb-ssr (work in progress)."""
