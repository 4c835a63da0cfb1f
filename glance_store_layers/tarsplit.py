"""Split the outer tar of an upload into verbatim bytes and large members.

The splitter never unpacks anything: it walks the 512-byte header blocks
of the outer archive only, and hands every input byte, in order, to a
*sink* as one of two kinds:

* ``inline(data)``: headers, small members, padding and the trailer, to
  be kept verbatim in the image's recipe;
* ``blob_begin(size)`` / ``blob_data(data)`` / ``blob_end()``: the data of
  one member whose size reaches the blob threshold (a layer), to be kept
  once in the blob store.

Concatenating everything the sink received gives back the input exactly,
whatever the input is; correct parsing only decides how much of it can be
shared between images, never whether the archive comes back intact.

When the input stops looking like a plain, complete tar (no tar header at
the start, a bad header checksum, data after the end-of-archive blocks,
an old-style GNU sparse member, or a stream that ends inside a header or
a member), the splitter calls ``abandon()`` once and passes every byte it
has not emitted yet, and all later input, to ``raw(data)``. The sink then
keeps the whole upload as one blob: such input is stored correctly, just
not de-duplicated.
"""
import tarfile

BLOCK = tarfile.BLOCKSIZE

# Type flags whose header is the whole member, even if the size field is
# not zero (hard and symbolic links, devices, directories, FIFOs); the
# same rule as Python's tarfile and Go's archive/tar.
_HEADER_ONLY_TYPES = frozenset(b'123456')
# Extended headers (pax local and global, GNU long name and long link):
# their data describes the member after them.
EXTENDED_TYPES = frozenset(b'xgLK')
# Old GNU sparse members carry extra header blocks; rare enough in
# container images that they are simply not split.
_GNU_SPARSE = ord('S')
_PAX_LOCAL = ord('x')
# Pax extended headers are parsed for a 'size' record; anything larger
# than this is not something a sane archive contains.
_MAX_PAX_HEADER = 1024 * 1024


class NotPlainTarError(Exception):
    """The input is not (or stopped being) a plain, complete tar."""


def parse_header(block):
    """Return (typeflag, size) of a ustar/GNU header block.

    The fields are read by :meth:`tarfile.TarInfo.frombuf` (octal or
    base-256 numbers, the checksum as signed or unsigned byte sum); the
    typeflag is the header's own byte, before tarfile reinterprets it.

    :raises NotPlainTarError: if the block is not a valid tar header
    """
    magic = bytes(block[257:265])
    if magic not in (b'ustar\x0000', b'ustar  \x00'):
        raise NotPlainTarError('no ustar magic in header')
    try:
        info = tarfile.TarInfo.frombuf(bytes(block), 'utf-8',
                                       'surrogateescape')
    except tarfile.HeaderError as exc:
        raise NotPlainTarError('bad tar header: %s' % exc) from None
    if info.size < 0:
        raise NotPlainTarError('negative member size in header')
    return block[156], info.size


def data_size(typeflag, header_size, pax_size=None):
    """How many data bytes follow a member's header, as the engine reads
    it (Go's archive/tar): an extended header has its own; for the
    member after it, a pax 'size' record wins over the header's field,
    and a header-only type has none whatever either says.

    Every reader of an archive on its way to the engine counts the same
    way, or a crafted member could hide from it in another's data.
    """
    if typeflag in EXTENDED_TYPES:
        return header_size
    if typeflag in _HEADER_ONLY_TYPES:
        return 0
    return header_size if pax_size is None else pax_size


def pax_records(data):
    """The records of a pax extended header, ``{key: value}`` (bytes).

    A later record of the same key wins, as in every pax reader.
    :raises NotPlainTarError: if the header is malformed
    """
    records = {}
    pos = 0
    data = bytes(data)
    while pos < len(data):
        if data[pos] == 0:
            break
        space = data.find(b' ', pos)
        if space < 0:
            raise NotPlainTarError('malformed pax header')
        try:
            length = int(data[pos:space])
        except ValueError:
            raise NotPlainTarError('malformed pax record length') from None
        if length <= space - pos or pos + length > len(data):
            raise NotPlainTarError('malformed pax record length')
        record = data[space + 1:pos + length - 1]
        key, sep, value = record.partition(b'=')
        if not sep:
            raise NotPlainTarError('malformed pax record')
        records[key] = value
        pos += length
    return records


def pax_size(data):
    """The 'size' record of a pax extended header, or None."""
    size = pax_records(data).get(b'size')
    if size is None:
        return None
    try:
        return int(size)
    except ValueError:
        raise NotPlainTarError('bad pax size record') from None


def _padding(size):
    return -size % BLOCK


class TarSplitter:
    """Streaming state machine over the outer tar; see the module doc.

    Memory use is one header block, plus one pax header while it is
    being read: member data is passed through as slices of the input.
    """

    def __init__(self, sink, blob_threshold):
        self._sink = sink
        self._threshold = blob_threshold
        self._header = bytearray()   # partial header block
        self._state = 'header'
        self._remaining = 0          # bytes left in the current data run
        self._pad = 0                # padding after the current data run
        self._to_blob = False
        self._pax = None             # bytearray while reading a pax header
        self._next_size = None       # size from a pax header
        self._seen_header = False
        self._abandoned = False
        self._view = None
        self.reason = None
        self.members = 0

    @property
    def abandoned(self):
        return self._abandoned

    def feed(self, data):
        """Consume the next piece of input (bytes or memoryview)."""
        if self._abandoned:
            if data:
                self._sink.raw(data)
            return
        # Every step consumes from self._view before it may raise, so on
        # NotPlainTarError the unconsumed input is exactly header + view.
        self._view = memoryview(data)
        try:
            while self._view:
                self._step()
        except NotPlainTarError as exc:
            self._abandon(str(exc))
        finally:
            self._view = None

    def close(self):
        """Signal the end of the input.

        :returns: True if the input was a complete plain tar and has been
                  split, False if it was handed over whole via ``raw``.
        """
        if self._abandoned:
            return False
        # Ending between two members without the end-of-archive blocks
        # is accepted, as tar readers do; so is empty input.
        if self._state in ('data', 'pad'):
            self._abandon('input ends inside a member')
        elif self._header:
            self._abandon('input ends inside a header')
        return not self._abandoned

    # -- internals ---------------------------------------------------------

    def _abandon(self, reason):
        self._abandoned = True
        self.reason = reason
        self._sink.abandon(reason)
        pending = bytes(self._header)
        self._header = bytearray()
        if pending:
            self._sink.raw(pending)
        if self._view:
            self._sink.raw(self._view)
            self._view = self._view[len(self._view):]

    def _take(self, size):
        piece = self._view[:size]
        self._view = self._view[len(piece):]
        return piece

    def _step(self):
        if self._state == 'header':
            self._read_header()
        elif self._state == 'data':
            self._read_data()
        elif self._state == 'pad':
            piece = self._take(self._pad)
            self._sink.inline(piece)
            self._pad -= len(piece)
            if not self._pad:
                self._state = 'header'
        else:
            # 'trailer': only zero bytes may follow the end-of-archive
            # block (the second zero block and record padding).
            if any(self._view):
                raise NotPlainTarError('data after the end-of-archive marker')
            self._sink.inline(self._take(len(self._view)))

    def _read_header(self):
        self._header += self._take(BLOCK - len(self._header))
        if len(self._header) < BLOCK:
            return
        block = self._header
        if not any(block):
            if not self._seen_header:
                raise NotPlainTarError('input starts with a zero block')
            self._header = bytearray()
            self._sink.inline(block)
            self._state = 'trailer'
            return
        typeflag, size = parse_header(block)
        self._seen_header = True
        self._header = bytearray()
        self.members += 1
        self._sink.inline(block)
        if typeflag == _GNU_SPARSE:
            raise NotPlainTarError('old GNU sparse member')
        size = data_size(typeflag, size, self._next_size)
        if typeflag not in EXTENDED_TYPES:
            self._next_size = None
        self._remaining = size
        self._pad = _padding(size)
        self._to_blob = False
        if typeflag == _PAX_LOCAL:
            if size > _MAX_PAX_HEADER:
                raise NotPlainTarError('pax header too large')
            self._pax = bytearray()
        elif size >= self._threshold:
            self._to_blob = True
            self._sink.blob_begin(size)
        self._state = 'data' if size else 'header'

    def _read_data(self):
        piece = self._take(self._remaining)
        if self._to_blob:
            self._sink.blob_data(piece)
        else:
            self._sink.inline(piece)
            if self._pax is not None:
                self._pax += piece
        self._remaining -= len(piece)
        if self._remaining:
            return
        self._state = 'pad' if self._pad else 'header'
        if self._to_blob:
            self._to_blob = False
            self._sink.blob_end()
        if self._pax is not None:
            pax, self._pax = self._pax, None
            size = pax_size(pax)
            if size is not None:
                self._next_size = size
