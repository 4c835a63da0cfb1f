"""Configuration options of a ``layers`` backend.

Glance loads third-party stores only in multi-store mode, so these
options live in the group named after the backend in ``enabled_backends``
(``enabled_backends = fast:layers`` -> group ``[fast]``); like every
glance_store driver option they can also be given defaults in
``[backend_defaults]``.
"""
from oslo_config import cfg
from oslo_utils import units

OPTS = [
    cfg.StrOpt('layers_store_datadir',
               help="""
Directory in which the layers store keeps image recipes and layer blobs.

Required: the backend refuses to accept images while it is not set. The
store creates its sub-directories (``blobs``, ``images``, ``work``) on
start-up and needs write access to all of them. Every glance-api that
serves this backend must see the same directory on a file system with
working hard links, ``rename`` and ``flock`` (a local file system, or a
shared one such as NFSv4 that provides them), because hard-link counts
are how the store knows which layers are still in use.

Possible values:
    * An absolute path to a directory
"""),
    cfg.IntOpt('layers_store_chunk_size',
               default=64 * units.Ki,
               min=4 * units.Ki,
               help="""
Size in bytes of the pieces the store reads from an upload and returns
from a download.

Bigger pieces cost a little more memory per request and a little less
CPU per byte. Memory use of one upload is bounded by about 6 MiB
(batches queued for the two hashing threads, a write buffer and
buffered archive headers) plus a few pieces.

Possible values:
    * Any integer of at least 4096
"""),
    cfg.IntOpt('layers_store_blob_threshold',
               default=256 * units.Ki,
               min=512,
               help="""
Size in bytes from which a member of an uploaded tar archive is stored
as a shared blob instead of verbatim in the image's recipe.

Every layer of a ``docker save`` archive (``<id>/layer.tar`` or
``blobs/sha256/<digest>``) above this size is kept once however many
images contain it. Smaller members (image configs, manifests, tiny
layers) are copied into each image's recipe: a lower value shares more
small layers at the cost of more blob files.

Possible values:
    * Any integer of at least 512
"""),
]

GROUP = cfg.OptGroup(
    'layers',
    title='A layers backend (use the backend name as group name)',
    help='Options of a glance_store "layers" backend. Put them in the '
         'group named after the backend in [DEFAULT] enabled_backends, '
         'e.g. [fast] for "enabled_backends = fast:layers".')


def list_opts():
    """Entry point for oslo-config-generator (``oslo.config.opts``)."""
    return [(GROUP, OPTS)]
