"""nova-pydock's tests.

``tools/lib`` holds what the tools and the tests share (the busybox image
recipe, docker-save style archives, the SQLite pooling hook); importing
``tests`` puts it on ``sys.path``.
"""
import os
import sys

_TOOLS_LIB = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'tools',
    'lib')
if _TOOLS_LIB not in sys.path:
    sys.path.append(_TOOLS_LIB)
