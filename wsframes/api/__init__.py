"""The Webshare API over HTTP: client, rate limits, activity cursor, slices, stats and CSV download.

This package speaks HTTP and JSON only; it knows nothing of frames (decoding a page into a
frame is injected by :mod:`wsframes.loader`). Import its modules directly: this file imports
nothing, so importing one of its modules never runs the others.
"""
