"""The outer-tar splitter, on real tar archives fed in awkward pieces."""
import gzip
import io
import random
import tarfile

import testtools

import docker_archives as archives
from glance_store_layers import tarsplit


class RecordingSink:
    """Keeps what a store would: verbatim bytes, blobs, or one raw run."""

    def __init__(self):
        self.parts = []          # ('inline'|'blob'|'raw', bytes)
        self.open_blob = None
        self.abandoned = None

    def _append(self, kind, data):
        if self.parts and self.parts[-1][0] == kind and kind != 'blob':
            self.parts[-1] = (kind, self.parts[-1][1] + bytes(data))
        else:
            self.parts.append((kind, bytes(data)))

    def inline(self, data):
        assert self.open_blob is None
        self._append('inline', data)

    def blob_begin(self, size):
        self.open_blob = (size, bytearray())

    def blob_data(self, data):
        self.open_blob[1].extend(data)

    def blob_end(self):
        size, data = self.open_blob
        assert size == len(data)
        self.parts.append(('blob', bytes(data)))
        self.open_blob = None

    def abandon(self, reason):
        # Like the real sink: everything so far becomes one raw run.
        self.abandoned = reason
        if self.open_blob is not None:
            self.parts.append(('blob', bytes(self.open_blob[1])))
            self.open_blob = None
        self.parts = [('raw', self.output())] if self.parts else []

    def raw(self, data):
        self._append('raw', data)

    def output(self):
        return b''.join(data for _kind, data in self.parts)

    def blobs(self):
        return [data for kind, data in self.parts if kind == 'blob']


def split(data, threshold=4096, pieces=None, seed=0):
    """Feed ``data`` in random-sized pieces; return (sink, clean)."""
    sink = RecordingSink()
    splitter = tarsplit.TarSplitter(sink, threshold)
    rnd = random.Random(seed)  # noqa: S311 (test data)
    pos = 0
    while pos < len(data):
        step = pieces or rnd.choice((1, 7, 511, 512, 513, 4096, 65536))
        splitter.feed(data[pos:pos + step])
        pos += step
    return sink, splitter.close()


class TestSplitArchives(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.base = archives.layer_tar('base', 50000)
        self.top = archives.layer_tar('top', 9000)

    def _check_layers_are_blobs(self, data):
        for seed in range(3):
            sink, clean = split(data, seed=seed)
            self.assertTrue(clean, sink.abandoned)
            self.assertIsNone(sink.abandoned)
            self.assertEqual(data, sink.output())
            self.assertEqual([self.base, self.top], sink.blobs())

    def test_docker_20_10_layout(self):
        self._check_layers_are_blobs(
            archives.docker_archive([self.base, self.top]))

    def test_oci_layout(self):
        self._check_layers_are_blobs(
            archives.oci_archive([self.base, self.top]))

    def test_small_members_stay_inline(self):
        data = archives.docker_archive([self.base, self.top])
        sink, clean = split(data, threshold=30000)
        self.assertTrue(clean)
        self.assertEqual([self.base], sink.blobs())
        self.assertEqual(data, sink.output())

    def test_gnu_long_names_and_links(self):
        buf = io.BytesIO()
        payload = bytes(range(256)) * 40
        with tarfile.open(fileobj=buf, mode='w',
                          format=tarfile.GNU_FORMAT) as tar:
            info = tarfile.TarInfo('d/' + 'x' * 150 + '/layer.tar')
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
            link = tarfile.TarInfo('l' * 120)
            link.type = tarfile.SYMTYPE
            link.linkname = 't' * 130
            tar.addfile(link)
        data = buf.getvalue()
        sink, clean = split(data)
        self.assertTrue(clean, sink.abandoned)
        self.assertEqual([payload], sink.blobs())
        self.assertEqual(data, sink.output())

    def _check_pax_size_is_the_members(self, long_name=None):
        """A pax size record, optionally a GNU long-name header after it,
        then the member with a header size field of 0 (as members over
        8 GiB have): the record's size is the member's."""
        payload = b'p' * 6000
        record = b'size=%d\n' % len(payload)
        record = b'%d %s' % (len(record) + 3, record)
        pax = tarfile.TarInfo('./PaxHeaders/layer.tar')
        pax.type = tarfile.XHDTYPE
        pax.size = len(record)
        parts = [pax.tobuf(tarfile.USTAR_FORMAT), record,
                 b'\0' * (-len(record) % 512)]
        if long_name is not None:
            name = tarfile.TarInfo('././@LongLink')
            name.type = tarfile.GNUTYPE_LONGNAME
            name.size = len(long_name)
            parts += [name.tobuf(tarfile.GNU_FORMAT), long_name,
                      b'\0' * (-len(long_name) % 512)]
        member = tarfile.TarInfo('layer.tar')
        member.size = 0
        data = b''.join(parts + [
            member.tobuf(tarfile.USTAR_FORMAT), payload,
            b'\0' * (-len(payload) % 512), b'\0' * 1024])
        sink, clean = split(data)
        self.assertTrue(clean, sink.abandoned)
        self.assertEqual([payload], sink.blobs())
        self.assertEqual(data, sink.output())

    def test_pax_size_record_overrides_header_size(self):
        self._check_pax_size_is_the_members()

    def test_pax_size_record_waits_for_the_member_after_a_long_name(self):
        # GNU tar and Go put a long-name header between the pax header and
        # its member: the record's size is the member's, not the name's.
        self._check_pax_size_is_the_members(long_name=b'n' * 150 + b'\0')

    def test_missing_end_of_archive_blocks_are_accepted(self):
        data = archives.docker_archive([self.base, self.top])
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            last = tar.getmembers()[-1]
        end = last.offset_data + last.size + (-last.size % 512)
        self.assertLess(end, len(data))
        sink, clean = split(data[:end])
        self.assertTrue(clean, sink.abandoned)
        self.assertEqual(data[:end], sink.output())
        self.assertEqual([self.base, self.top], sink.blobs())

    def test_empty_input(self):
        sink, clean = split(b'')
        self.assertTrue(clean)
        self.assertEqual([], sink.parts)


class TestNotPlainTar(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.archive = archives.docker_archive(
            [archives.layer_tar('base', 50000)])

    def _check_whole(self, data, expect_reason):
        sink, clean = split(data)
        self.assertFalse(clean)
        self.assertIn(expect_reason, sink.abandoned)
        self.assertEqual(data, sink.output())
        self.assertEqual(['raw'], [kind for kind, _data in sink.parts])

    def test_gzip(self):
        self._check_whole(gzip.compress(self.archive, mtime=0), 'magic')

    def test_random_bytes(self):
        self._check_whole(random.Random(5).randbytes(10000),  # noqa: S311
                          'magic')

    def test_shorter_than_a_block(self):
        self._check_whole(b'hello', 'ends inside a header')

    def test_truncated_inside_a_layer(self):
        cut = self.archive.index(b'layer.tar') + 512 + 20000
        self._check_whole(self.archive[:cut], 'inside a member')

    def test_truncated_inside_a_header(self):
        self._check_whole(self.archive[:512 + 100], 'inside a header')

    def test_corrupted_header_checksum(self):
        data = bytearray(self.archive)
        data[512 * 3 + 5] ^= 0xff   # a name byte of a later header
        self._check_whole(bytes(data), 'checksum')

    def test_data_after_end_of_archive(self):
        self._check_whole(self.archive + b'garbage', 'end-of-archive')

    def test_starts_with_zero_block(self):
        self._check_whole(b'\0' * 2048, 'zero block')


class TestHeaderParsing(testtools.TestCase):

    def test_base256_size(self):
        info = tarfile.TarInfo('big')
        info.size = 0
        block = bytearray(info.tobuf(tarfile.GNU_FORMAT))
        block[124:136] = b'\x80' + (9 << 30).to_bytes(11, 'big')
        block[148:156] = b' ' * 8
        block[148:156] = b'%06o\0 ' % sum(block)
        self.assertEqual((ord('0'), 9 << 30), tarsplit.parse_header(block))

    def test_malformed_pax_records(self):
        for bad in (b'x', b'5 size=1\n', b'99 size=1\n', b'12 nosep\n',
                    b'13 size=abc\n'):
            self.assertRaises(tarsplit.NotPlainTarError,
                              tarsplit.pax_size, bad)
        self.assertEqual(12, tarsplit.pax_size(b'11 size=12\n'))
        self.assertIsNone(tarsplit.pax_size(b'14 path=a/b/c\n'))

    def _header(self, **fields):
        info = tarfile.TarInfo('m')
        info.size = 10
        block = bytearray(info.tobuf(tarfile.GNU_FORMAT))
        for offset, value in fields.values():
            block[offset:offset + len(value)] = value
        block[148:156] = b' ' * 8
        block[148:156] = b'%06o\0 ' % sum(block)
        return block

    def test_bad_numbers(self):
        """As tarfile reads them: every numeric field must be a number, a
        size must not be negative."""
        self.assertEqual((ord('0'), 10), tarsplit.parse_header(
            self._header()))
        for field in ({'uid': (108, b'zz')},
                      {'size': (124, b'\xff' * 12)},
                      {'mtime': (136, b'9x')}):
            self.assertRaises(tarsplit.NotPlainTarError,
                              tarsplit.parse_header, self._header(**field))

    def test_pax_records(self):
        self.assertEqual({b'path': b'b', b'size': b'1'},
                         tarsplit.pax_records(
                             b'10 path=a\n10 path=b\n10 size=1\n\0\0'))
