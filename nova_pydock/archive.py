"""Stream filter for ``docker save`` archives on their way into the engine.

Glance images are addressed by ID, never by the names inside an archive. A
user's archive could otherwise carry tags (``manifest.json`` RepoTags and
the legacy ``repositories`` file) that re-point an image already in the
engine. The filter passes the outer tar through chunk by chunk, drops those
names, and refuses members whose paths could escape the engine's extraction
directory. Nothing is buffered but one small metadata member.
"""
import json
import posixpath
import tarfile

from nova import exception

from glance_store_layers import tarsplit

BLOCK = tarfile.BLOCKSIZE
# Members we rewrite are small JSON files, and extended headers (pax, GNU
# long names) are small too; anything larger is not metadata.
MAX_METADATA_BYTES = 1024 * 1024
_STRIPPED = 'repositories'
_MANIFEST = 'manifest.json'


class ArchiveRefused(exception.ImageUnacceptable):
    """The archive is not a ``docker save`` archive the engine may load."""


def _padded(size):
    return (size + BLOCK - 1) // BLOCK * BLOCK


class ChunkReader:
    """A file-like ``read(size)`` over an iterator of byte chunks.

    Lets a stream of chunks go where a file is expected (python-glanceclient
    uploads only from objects with ``read``) without holding it whole.
    """

    def __init__(self, chunks):
        self._chunks = iter(chunks)
        self._buffer = bytearray()
        self.consumed = 0

    def read(self, size):
        while len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        self.consumed += len(data)
        return data

    def pieces(self, size, piece=1024 * 1024):
        """Yield ``size`` bytes in pieces without holding them all.

        Returns how many bytes were missing when the stream ended first.
        """
        while size > 0:
            data = self.read(min(piece, size))
            if not data:
                return size
            size -= len(data)
            yield data
        return 0

    def rest(self, piece=1024 * 1024):
        while data := self.read(piece):
            yield data


def _check_name(image_id, name):
    normalized = posixpath.normpath(name)
    if (name.startswith('/') or normalized == '..'
            or normalized.startswith('../')):
        raise ArchiveRefused(image_id=image_id,
                             reason='archive member %r points outside the '
                                    'archive' % name)


def _strip_tags(image_id, data):
    try:
        manifest = json.loads(data)
        for entry in manifest:
            entry['RepoTags'] = None
    except (ValueError, TypeError) as exc:
        raise ArchiveRefused(image_id=image_id,
                             reason='manifest.json is not a docker save '
                                    'manifest: %s' % exc) from exc
    return json.dumps(manifest).encode()


def _member(name, data, template):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = template.mode
    info.mtime = template.mtime
    header = info.tobuf(format=tarfile.GNU_FORMAT)
    return header + data + b'\0' * (_padded(len(data)) - len(data))


def untagged(image_id, chunks):
    """Yield the archive from ``chunks`` without its image names.

    Raises ArchiveRefused when the data is not a tar archive, ends early,
    or has a member whose path leaves the archive.
    """
    reader = ChunkReader(chunks)
    pending = _Extended()
    seen_member = False
    while True:
        header = reader.read(BLOCK)
        if len(header) < BLOCK:
            raise ArchiveRefused(image_id=image_id,
                                 reason='the archive ends early (after %d '
                                        'bytes); upload it again'
                                        % reader.consumed)
        if header == b'\0' * BLOCK:
            if not seen_member:
                raise ArchiveRefused(image_id=image_id,
                                     reason='the archive is empty')
            yield header
            yield from reader.rest()
            return
        info = _header(image_id, header)
        seen_member = True
        size = tarsplit.data_size(header[156], info.size, pending.size)
        if header[156] in tarsplit.EXTENDED_TYPES:
            if size > MAX_METADATA_BYTES:
                raise ArchiveRefused(image_id=image_id,
                                     reason='an extended header of %d '
                                            'bytes' % size)
            data = _read_exact(reader, image_id, _padded(size))
            pending = pending.add(image_id, info, data[:size])
            yield header + data
            continue
        name = pending.name or info.name
        pending = _Extended()
        yield from _member_out(image_id, reader, header, info, name, size)


def _header(image_id, block):
    try:
        return tarfile.TarInfo.frombuf(block, 'utf-8', 'surrogateescape')
    except tarfile.HeaderError as exc:
        raise ArchiveRefused(
            image_id=image_id,
            reason='not a docker save archive (a tar file): %s' % exc
        ) from exc


def _member_out(image_id, reader, header, info, name, size):
    """One member as it goes on: checked, tags stripped, data streamed."""
    _check_name(image_id, name)
    if info.type in (tarfile.LNKTYPE, tarfile.SYMTYPE):
        _check_name(image_id, posixpath.join(posixpath.dirname(name),
                                             info.linkname))
    base = name.rstrip('/')
    if base in (_MANIFEST, _STRIPPED) and size <= MAX_METADATA_BYTES:
        data = reader.read(_padded(size))[:size]
        if base == _MANIFEST:
            yield _member(base, _strip_tags(image_id, data), info)
        return
    yield header
    if (yield from reader.pieces(_padded(size))):
        raise ArchiveRefused(image_id=image_id,
                             reason='the archive ends early, inside '
                                    'member %r; upload it again' % name)


class _Extended:
    """What extended headers said about the member that follows them."""

    def __init__(self, name=None, size=None):
        self.name = name
        self.size = size

    def add(self, image_id, info, data):
        """These, updated by one more extended header's ``data``."""
        if info.type == tarfile.GNUTYPE_LONGNAME:
            name = data.rstrip(b'\0').decode('utf-8', 'surrogateescape')
            return _Extended(name, self.size)
        if info.type != tarfile.XHDTYPE:
            return self
        try:
            records = tarsplit.pax_records(data)
            size = tarsplit.pax_size(data)
        except tarsplit.NotPlainTarError as exc:
            raise ArchiveRefused(image_id=image_id,
                                 reason='not a docker save archive (a tar '
                                        'file): %s' % exc) from None
        path = records.get(b'path')
        return _Extended(
            path.decode('utf-8', 'surrogateescape') if path else self.name,
            self.size if size is None else size)


def _read_exact(reader, image_id, size):
    data = reader.read(size)
    if len(data) < size:
        raise ArchiveRefused(image_id=image_id,
                             reason='the archive ends early')
    return data
