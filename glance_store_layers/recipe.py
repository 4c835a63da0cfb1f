"""The recipe: how to rebuild one image's bytes from verbatim data and blobs.

A recipe is a small binary file, written front to back while the upload
streams in (so an upload never needs its archive in memory) and read
back to serve ``get``. Layout, all integers big-endian::

    magic     8 bytes   b'LAYRCP1\\n'
    size      8 bytes   total bytes of the image
    footer    8 bytes   file offset of the footer
    records   ...       'I' + length(8) + the bytes themselves
                        'B' + length(8) + sha256 digest (32 bytes)
    footer    'F' + length(4) + JSON object (image id, md5, ...)

``size`` and ``footer`` are filled in last, so a recipe whose size field
is still zero for a non-empty record list is recognisably incomplete;
the store never makes such a file visible anyway (see store.py).
Segment offsets are not stored: they are the running sum of record
lengths, computed when the recipe is opened, which keeps the writer
append-only and the format free of redundancy that could disagree.
"""
import bisect
import json
import struct

MAGIC = b'LAYRCP1\n'
_HEAD = struct.Struct('>8sQQ')
_REC = struct.Struct('>cQ')
_FOOT = struct.Struct('>cI')
DIGEST_SIZE = 32
# Consecutive verbatim bytes are gathered up to this size before they
# become one record: bounded memory, few records.
INLINE_RECORD_MAX = 1024 * 1024
INLINE = 'inline'
BLOB = 'blob'


class RecipeError(Exception):
    """A recipe file is malformed or incomplete."""


class Segment:
    """One run of image bytes: verbatim recipe bytes or a whole blob."""

    __slots__ = ('start', 'length', 'kind', 'ref')

    def __init__(self, start, length, kind, ref):
        self.start = start      # offset in the image
        self.length = length
        self.kind = kind        # INLINE or BLOB
        self.ref = ref          # recipe file offset, or hex sha256

    def __repr__(self):
        return 'Segment(%d, %d, %s, %r)' % (self.start, self.length,
                                            self.kind, self.ref)


class RecipeWriter:
    """Append records to an open binary file; see the module doc."""

    def __init__(self, fileobj):
        self._f = fileobj
        self._f.write(_HEAD.pack(MAGIC, 0, 0))
        self._pos = _HEAD.size
        self._pending = bytearray()
        self.size = 0
        self.segments = []

    def inline(self, data):
        if not data:
            return
        self._pending += data
        if len(self._pending) >= INLINE_RECORD_MAX:
            self._flush_inline()

    def blob(self, digest_hex, length):
        self._flush_inline()
        digest = bytes.fromhex(digest_hex)
        if len(digest) != DIGEST_SIZE:
            raise ValueError('not a sha256 digest: %r' % digest_hex)
        self._f.write(_REC.pack(b'B', length) + digest)
        self._pos += _REC.size + DIGEST_SIZE
        self.segments.append(Segment(self.size, length, BLOB, digest_hex))
        self.size += length

    def flush(self):
        """Write pending verbatim bytes so a reader can see them."""
        self._flush_inline()
        self._f.flush()

    def finish(self, meta):
        """Write the footer and the header's size fields."""
        self._flush_inline()
        footer_at = self._pos
        body = json.dumps(meta, sort_keys=True).encode('utf-8')
        self._f.write(_FOOT.pack(b'F', len(body)) + body)
        self._f.seek(0)
        self._f.write(_HEAD.pack(MAGIC, self.size, footer_at))
        self._f.flush()

    def _flush_inline(self):
        if not self._pending:
            return
        length = len(self._pending)
        self._f.write(_REC.pack(b'I', length))
        self._f.write(self._pending)
        self.segments.append(Segment(self.size, length, INLINE,
                                     self._pos + _REC.size))
        self._pos += _REC.size + length
        self.size += length
        self._pending = bytearray()


def read_size(path):
    """The image size from a recipe's header, without reading the rest."""
    with open(path, 'rb') as f:
        return _read_head(f)[0]


def _read_head(f):
    head = f.read(_HEAD.size)
    if len(head) != _HEAD.size:
        raise RecipeError('recipe is truncated')
    magic, size, footer_at = _HEAD.unpack(head)
    if magic != MAGIC:
        raise RecipeError('not a recipe (bad magic)')
    if footer_at < _HEAD.size:
        raise RecipeError('recipe is incomplete (no footer)')
    return size, footer_at


class Recipe:
    """A parsed recipe: segments with offsets, and the footer metadata."""

    def __init__(self, size, segments, meta):
        self.size = size
        self.segments = segments
        self.meta = meta
        self._starts = [s.start for s in segments]

    @property
    def digests(self):
        """Distinct blob digests, in first-use order."""
        return list(dict.fromkeys(s.ref for s in self.segments
                                  if s.kind == BLOB))

    def segments_for(self, offset, length):
        """(segment, skip, take) triples covering image[offset:+length]."""
        end = min(self.size, offset + length)
        index = max(0, bisect.bisect_right(self._starts, offset) - 1)
        while offset < end and index < len(self.segments):
            seg = self.segments[index]
            skip = offset - seg.start
            take = min(seg.length - skip, end - offset)
            if take > 0:
                yield seg, skip, take
                offset += take
            index += 1

    @classmethod
    def load(cls, path):
        """Parse and check a recipe file.

        :raises RecipeError: if the file is malformed or incomplete
        :raises OSError: if it cannot be read (FileNotFoundError included)
        """
        with open(path, 'rb') as f:
            return cls.read(f)

    @classmethod
    def read(cls, f):
        """Parse and check a recipe from an open binary file.

        :raises RecipeError: if the file is malformed or incomplete
        """
        size, footer_at = _read_head(f)
        segments = []
        pos = _HEAD.size
        total = 0
        while pos < footer_at:
            rec = f.read(_REC.size)
            if len(rec) != _REC.size:
                raise RecipeError('recipe is truncated')
            kind, length = _REC.unpack(rec)
            pos += _REC.size
            if kind == b'I':
                segments.append(Segment(total, length, INLINE, pos))
                pos += length
                f.seek(pos)
            elif kind == b'B':
                digest = f.read(DIGEST_SIZE)
                if len(digest) != DIGEST_SIZE:
                    raise RecipeError('recipe is truncated')
                segments.append(Segment(total, length, BLOB,
                                        digest.hex()))
                pos += DIGEST_SIZE
            else:
                raise RecipeError('unknown record type %r' % kind)
            total += length
        if pos != footer_at:
            raise RecipeError('records overrun the footer')
        foot = f.read(_FOOT.size)
        if len(foot) != _FOOT.size or foot[:1] != b'F':
            raise RecipeError('recipe footer is missing')
        body = f.read(_FOOT.unpack(foot)[1])
        try:
            meta = json.loads(body.decode('utf-8'))
        except ValueError:
            raise RecipeError('recipe footer is not JSON') from None
        if total != size:
            raise RecipeError('segments add up to %d bytes, header says %d'
                              % (total, size))
        return cls(size, segments, meta)
