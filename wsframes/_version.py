"""The package version, one source: the installed distribution's metadata."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("wsframes")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
