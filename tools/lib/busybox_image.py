"""The busybox container image, built locally without any registry.

The one recipe that tools/cloud and the devstack plugin (through
``tools/cloud.d/provision.py``), the benchmarks and the tests build their
busybox image with: a root file system around Debian's ``busybox-static``
enters the engine through ``docker import``; ``docker save`` turns it into
the archive that Glance stores. It lives in ``tools/lib/`` (importable
with that directory on ``sys.path``), not in the product: nova-pydock runs
whatever image an operator uploads, and shipping code never imports
``tests/``.
"""
import io
import json
import subprocess
import tarfile

BUSYBOX = '/bin/busybox'
ROOTFS_DIRECTORIES = ('bin', 'etc', 'tmp', 'proc', 'sys', 'dev', 'root',
                      'run', 'var')


def _add(tar, name, data=b'', mode=0o644, kind=tarfile.REGTYPE,
         linkname=''):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = 0
    info.linkname = linkname
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def _parents(names):
    """The directories above ``names`` that the tar must hold, top first."""
    found = set()
    for name in names:
        parts = name.split('/')[:-1]
        for depth in range(1, len(parts) + 1):
            found.add('/'.join(parts[:depth]))
    return sorted(found - set(ROOTFS_DIRECTORIES), key=lambda d: d.count('/'))


def rootfs_tar(extra_files=()):
    """A tar (bytes) of a minimal root file system around busybox.

    ``extra_files``: (path, bytes, mode) triples added to it (their
    parent directories too), as the SSH image adds dropbear's.
    """
    extra_files = list(extra_files)
    applets = subprocess.run([BUSYBOX, '--list'], check=True,
                             capture_output=True, text=True).stdout.split()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w', format=tarfile.GNU_FORMAT) as tar:
        for directory in ROOTFS_DIRECTORIES:
            _add(tar, directory, kind=tarfile.DIRTYPE,
                 mode=0o1777 if directory == 'tmp' else 0o755)
        with open(BUSYBOX, 'rb') as f:
            _add(tar, 'bin/busybox', f.read(), mode=0o755)
        for applet in applets:
            if applet != 'busybox':
                _add(tar, 'bin/' + applet, kind=tarfile.SYMTYPE,
                     linkname='busybox')
        _add(tar, 'etc/passwd', b'root:x:0:0:root:/root:/bin/sh\n'
             b'nobody:x:65534:65534:nobody:/:/bin/false\n')
        _add(tar, 'etc/group', b'root:x:0:\nnogroup:x:65534:\n')
        for directory in _parents(name for name, _, _ in extra_files):
            _add(tar, directory, kind=tarfile.DIRTYPE, mode=0o755)
        for name, data, mode in extra_files:
            _add(tar, name, data, mode=mode)
    return buf.getvalue()


def import_image(api, repository, tag, command=None, extra_files=()):
    """``docker import`` the root file system; returns the image reference.

    ``api`` is a ``docker.APIClient``; ``command`` (a list) becomes the
    image's CMD, None leaves the image without one; ``extra_files`` as
    for :func:`rootfs_tar`.
    """
    changes = ['CMD %s' % json.dumps(command)] if command else []
    api.import_image_from_data(rootfs_tar(extra_files), repository=repository,
                               tag=tag, changes=changes)
    return '%s:%s' % (repository, tag)


def save_archive(api, ref, path):
    """Write the ``docker save`` archive of ``ref`` to ``path``."""
    with open(path, 'wb') as out:
        for chunk in api.get_image(ref):
            out.write(chunk)
    return path
