"""Personality files (``injected_files``): into the container's files.

Nova's API (microversions below 2.57) lets a user name files and their
contents for a new or rebuilt server; Nova decodes them and hands them to
the driver's spawn. The driver writes them into the container's own file
system before its first start, through the engine's archive upload: owned
by root, mode 0644, missing parent directories made 0755, existing files
replaced. A path without a leading ``/`` is taken from the root, as
Nova's own file injection (``nova.virt.disk.vfs``) takes it. The engine
resolves the paths inside the container, so a symbolic link in the image
cannot lead out of it. A flavor with a
read-only root file system (``pydock:read_only_root``) cannot take them:
the build is refused, not left without them.
"""
import io
import posixpath
import tarfile
import time

from nova import exception

FILE_MODE = 0o644


def _refuse(instance, reason):
    return exception.BuildAbortException(instance_uuid=instance.uuid,
                                         reason=reason)


def _container_path(instance, path):
    """The file's absolute path in the container; a relative one is taken
    from the root. Refused: anything that is not one plain file path."""
    absolute = ('/' + path if isinstance(path, str)
                and not path.startswith('/') else path)
    if (not isinstance(path, str) or absolute.startswith('//')
            or absolute == '/' or posixpath.normpath(absolute) != absolute
            or '\0' in path):
        raise _refuse(instance, 'personality file path %r is not a plain '
                      'file path' % (path,))
    return absolute


def archive(instance, injected_files):
    """A tar of the files, paths relative to the container's ``/``."""
    buf = io.BytesIO()
    now = int(time.time())
    with tarfile.open(fileobj=buf, mode='w', format=tarfile.PAX_FORMAT) as tar:
        for path, contents in injected_files:
            absolute = _container_path(instance, path)
            data = (contents.encode('utf-8') if isinstance(contents, str)
                    else contents)
            info = tarfile.TarInfo(absolute.lstrip('/'))
            info.size = len(data)
            info.mode = FILE_MODE
            info.mtime = now
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def inject(engine, name, instance, injected_files, read_only_root):
    """Write ``injected_files`` into container ``name`` (not yet started).

    :raises nova.exception.BuildAbortException: the files cannot be
        written here (read-only root, bad path); any host would refuse.
    """
    if not injected_files:
        return
    if read_only_root:
        raise _refuse(instance, 'the flavor gives the server a read-only '
                      'root file system (pydock:read_only_root), so the '
                      'personality files cannot be written into it; use '
                      'user data or a config drive instead')
    engine.put_archive(name, '/', archive(instance, injected_files))
