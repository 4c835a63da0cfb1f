"""The stream filter that strips names from docker save archives."""
import io
import json
import tarfile

import testtools

from nova_pydock import archive


def _tar(members, fmt=tarfile.GNU_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w', format=fmt) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _filtered(data, chunk=1000):
    pieces = (data[i:i + chunk] for i in range(0, len(data), chunk))
    return b''.join(archive.untagged('img', pieces))


MANIFEST = json.dumps([{'Config': 'c.json', 'RepoTags': ['evil:latest'],
                        'Layers': ['l1/layer.tar']}]).encode()


class TestUntagged(testtools.TestCase):

    def test_tags_are_dropped_and_layers_kept_byte_for_byte(self):
        layer = bytes(range(256)) * 40
        data = _tar([('l1/layer.tar', layer), ('c.json', b'{}'),
                     ('manifest.json', MANIFEST),
                     ('repositories', b'{"evil": {"latest": "x"}}')])
        with tarfile.open(fileobj=io.BytesIO(_filtered(data))) as tar:
            self.assertEqual(['l1/layer.tar', 'c.json', 'manifest.json'],
                             tar.getnames())
            self.assertEqual(layer, tar.extractfile('l1/layer.tar').read())
            manifest = json.load(tar.extractfile('manifest.json'))
        self.assertIsNone(manifest[0]['RepoTags'])
        self.assertEqual(['l1/layer.tar'], manifest[0]['Layers'])

    def test_long_names_pass_through(self):
        long_name = 'd' * 120 + '/layer.tar'
        for fmt in (tarfile.GNU_FORMAT, tarfile.PAX_FORMAT):
            data = _tar([(long_name, b'x' * 700),
                         ('manifest.json', MANIFEST)], fmt)
            with tarfile.open(fileobj=io.BytesIO(_filtered(data))) as tar:
                self.assertIn(long_name, tar.getnames())

    def test_refusals(self):
        good = _tar([('l1/layer.tar', b'x' * 5000),
                     ('manifest.json', MANIFEST)])
        cases = {
            'ends early': good[:2000],
            'not a docker save archive': b'\x1f\x8b' + b'z' * 2000,
            'the archive is empty': b'\0' * 1024,
            'points outside': _tar([('../etc/passwd', b'x')]),
            'points outside the archive': _tar([('/etc/passwd', b'x')]),
            'not a docker save manifest': _tar([('manifest.json',
                                                 b'{not json')]),
        }
        for text, data in cases.items():
            exc = self.assertRaises(archive.ArchiveRefused, _filtered, data)
            self.assertIn(text, str(exc))

    def test_symlink_escaping_archive_is_refused(self):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode='w') as tar:
            info = tarfile.TarInfo('l1/link')
            info.type = tarfile.SYMTYPE
            info.linkname = '../../../etc/shadow'
            tar.addfile(info)
        self.assertRaises(archive.ArchiveRefused, _filtered, buf.getvalue())


def _pax_member(records, name='short', data=b'x'):
    """A pax header with ``records`` (raw bytes), then member ``name``."""
    pax = tarfile.TarInfo('./PaxHeaders/' + name)
    pax.type = tarfile.XHDTYPE
    pax.size = len(records)
    member = tarfile.TarInfo(name)
    member.size = len(data)
    return b''.join([pax.tobuf(tarfile.USTAR_FORMAT), records,
                     b'\0' * (-len(records) % 512),
                     member.tobuf(tarfile.USTAR_FORMAT), data,
                     b'\0' * (-len(data) % 512), b'\0' * 1024])


class TestPaxNames(testtools.TestCase):

    def test_pax_path_is_checked(self):
        record = b'path=../../etc/cron.d/x\n'
        record = b'%d %s' % (len(record) + 3, record)
        exc = self.assertRaises(archive.ArchiveRefused, _filtered,
                                _pax_member(record))
        self.assertIn('points outside', str(exc))

    def test_malformed_pax_header_is_refused(self):
        exc = self.assertRaises(archive.ArchiveRefused, _filtered,
                                _pax_member(b'99 path=a\n'))
        self.assertIn('malformed pax record length', str(exc))

    def test_records_are_read_by_length_not_by_line(self):
        """A value with a newline holds no record of its own, as the
        engine's tar reader sees it."""
        inner = b'comment=x\n12 path=/abs\n'
        record = b'%d %s' % (len(inner) + 3, inner)
        data = _pax_member(record, name='ok')
        self.assertEqual(data, _filtered(data))


def _pax_record(key, value):
    record = b'%s=%s\n' % (key, value)
    return b'%d %s' % (len(record) + 1 + len(str(len(record))), record)


def _raw(name, size, typeflag=tarfile.REGTYPE, data=b''):
    """A header whose size field says ``size``, then ``data`` padded."""
    info = tarfile.TarInfo(name)
    info.type = typeflag
    info.size = size
    header = info.tobuf(tarfile.USTAR_FORMAT)
    if typeflag != tarfile.REGTYPE:
        # tobuf writes no size for header-only types: put it back.
        info.type = tarfile.REGTYPE
        header = _with_type(info.tobuf(tarfile.USTAR_FORMAT), typeflag)
    return header + data + b'\0' * (-len(data) % 512)


def _with_type(header, typeflag):
    """``header`` with another type flag and its checksum redone."""
    block = bytearray(header)
    block[156:157] = typeflag
    block[148:156] = b' ' * 8
    block[148:155] = b'%06o\0' % sum(block)
    return bytes(block)


class TestMemberSizes(testtools.TestCase):
    """The filter counts every member's data as the engine's tar reader
    (Go's archive/tar) does, so that nothing can hide from its checks in
    what it would take for another member's data."""

    def test_data_of_a_header_only_member_is_read_as_members(self):
        hidden = _raw('../escape', 1, data=b'x')
        data = (_raw('dir/', len(hidden), tarfile.DIRTYPE, hidden)
                + b'\0' * 1024)
        # Python's tarfile reads it as the engine does: two members.
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            self.assertEqual(['dir', '../escape'], tar.getnames())
        exc = self.assertRaises(archive.ArchiveRefused, _filtered, data)
        self.assertIn("'../escape' points outside", str(exc))

    def test_pax_size_record_wins_over_the_header(self):
        hidden = _raw('../escape', 1, data=b'x')
        pax = _pax_record(b'size', b'0')
        data = (_raw('./PaxHeaders/a', len(pax), tarfile.XHDTYPE, pax)
                + _raw('a', len(hidden), data=hidden) + b'\0' * 1024)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            self.assertEqual(['a', '../escape'], tar.getnames())
        exc = self.assertRaises(archive.ArchiveRefused, _filtered, data)
        self.assertIn("'../escape' points outside", str(exc))

    def test_data_a_pax_size_announces_passes_as_data(self):
        """A member over 8 GiB has its size in a pax record only: what
        looks like a manifest in its data is data, kept byte for byte."""
        inside = _raw('manifest.json', len(MANIFEST), data=MANIFEST)
        pax = _pax_record(b'size', b'%d' % len(inside))
        long_name = b'd' * 120 + b'/layer.tar'
        data = (_raw('./PaxHeaders/l', len(pax), tarfile.XHDTYPE, pax)
                + _raw('././@LongLink', len(long_name) + 1,
                       tarfile.GNUTYPE_LONGNAME, long_name + b'\0')
                + _raw('short', 0) + inside + b'\0' * 1024)
        self.assertEqual(data, _filtered(data))

    def test_oversized_extended_header_is_refused(self):
        size = archive.MAX_METADATA_BYTES + 1
        data = _raw('./PaxHeaders/a', size, tarfile.XHDTYPE,
                    b'x' * size) + b'\0' * 1024
        exc = self.assertRaises(archive.ArchiveRefused, _filtered, data)
        self.assertIn('extended header of %d bytes' % size, str(exc))
