"""Container image archives written in pure Python: store tests, bench-store.

Two layouts, as ``docker save`` writes them:

* Docker 20.10 and older: ``<v1 id>/layer.tar``, ``<v1 id>/json``,
  ``<v1 id>/VERSION``, ``<config digest>.json``, ``manifest.json``,
  ``repositories``;
* Docker 25+ (OCI image layout): ``blobs/sha256/<digest>`` for layers,
  config and manifest, ``index.json``, ``oci-layout``, ``manifest.json``.

The engine used in the functional tests is 20.10, which cannot write the
second layout, hence this writer. Layer contents are deterministic
pseudo-random bytes (a seed names a layer), so two images built with the
same base seed share that layer byte for byte, as real images do.
"""
import hashlib
import io
import json
import random
import tarfile


def layer_tar(seed, size):
    """A layer (itself a tar) holding one file of ``size`` seeded bytes."""
    data = random.Random(seed).randbytes(size)  # noqa: S311 (test data)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w',
                      format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo('data/%s.bin' % seed)
        info.size = len(data)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _sha(data):
    return hashlib.sha256(data).hexdigest()


def _add(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 1700000000
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def _add_dir(tar, name):
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    info.mtime = 1700000000
    tar.addfile(info)


def _config(layers, tag):
    return json.dumps({
        'architecture': 'amd64', 'os': 'linux',
        'config': {'Cmd': ['sh'], 'Labels': {'tag': tag}},
        'rootfs': {'type': 'layers',
                   'diff_ids': ['sha256:' + _sha(x) for x in layers]},
    }, sort_keys=True).encode()


def docker_archive(layers, tag='test/image:latest'):
    """A Docker 20.10 ``docker save`` archive (bytes) of ``layers``."""
    config = _config(layers, tag)
    config_name = _sha(config) + '.json'
    buf = io.BytesIO()
    # Go's archive/tar writes no record padding; tarfile pads to 10 KiB,
    # which the store must keep verbatim as well.
    with tarfile.open(fileobj=buf, mode='w',
                      format=tarfile.USTAR_FORMAT) as tar:
        parent = ''
        v1_ids = []
        for layer in layers:
            v1_id = _sha((parent + _sha(layer)).encode())
            v1_ids.append(v1_id)
            _add_dir(tar, v1_id + '/')
            _add(tar, v1_id + '/VERSION', b'1.0')
            _add(tar, v1_id + '/json', json.dumps(
                {'id': v1_id, 'parent': parent}).encode())
            _add(tar, v1_id + '/layer.tar', layer)
            parent = v1_id
        _add(tar, config_name, config)
        manifest = [{'Config': config_name, 'RepoTags': [tag],
                     'Layers': [i + '/layer.tar' for i in v1_ids]}]
        _add(tar, 'manifest.json', json.dumps(manifest).encode())
        repo, _sep, version = tag.rpartition(':')
        _add(tar, 'repositories', json.dumps(
            {repo: {version: v1_ids[-1]}}).encode())
    return buf.getvalue()


def oci_archive(layers, tag='test/image:latest'):
    """A Docker 25+ / OCI layout ``docker save`` archive (bytes)."""
    config = _config(layers, tag)
    manifest = json.dumps({
        'schemaVersion': 2,
        'mediaType': 'application/vnd.oci.image.manifest.v1+json',
        'config': {'mediaType': 'application/vnd.oci.image.config.v1+json',
                   'digest': 'sha256:' + _sha(config),
                   'size': len(config)},
        'layers': [{'mediaType': 'application/vnd.oci.image.layer.v1.tar',
                    'digest': 'sha256:' + _sha(x), 'size': len(x)}
                   for x in layers],
    }).encode()
    index = json.dumps({
        'schemaVersion': 2,
        'manifests': [{
            'mediaType': 'application/vnd.oci.image.manifest.v1+json',
            'digest': 'sha256:' + _sha(manifest), 'size': len(manifest),
            'annotations': {'io.containerd.image.name': tag}}],
    }).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w',
                      format=tarfile.PAX_FORMAT) as tar:
        _add_dir(tar, 'blobs/')
        _add_dir(tar, 'blobs/sha256/')
        for data in (*layers, config, manifest):
            _add(tar, 'blobs/sha256/' + _sha(data), data)
        _add(tar, 'index.json', index)
        _add(tar, 'manifest.json', json.dumps([{
            'Config': 'blobs/sha256/' + _sha(config), 'RepoTags': [tag],
            'Layers': ['blobs/sha256/' + _sha(x) for x in layers]}]).encode())
        _add(tar, 'oci-layout', b'{"imageLayoutVersion": "1.0.0"}')
    return buf.getvalue()
