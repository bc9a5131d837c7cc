"""pb_ssr_flask: the flask adapter of pb-ssr (work in progress)."""
