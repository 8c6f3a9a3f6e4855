"""actlab: exact, verified answers about how small neural networks learn and where they break."""

from actlab.errors import ActlabError

__version__ = "0.1.0"
__all__ = ["ActlabError", "__version__"]
