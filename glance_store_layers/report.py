"""glance-store-layers-report: what a layers store holds, for operators.

Reads the data directory only (no Glance, no database): images, blobs,
logical bytes (what the images would take as plain files) versus stored
bytes (distinct files on disk), and damage if any. Use either the
directory itself or Glance's configuration and the backend name::

    glance-store-layers-report --datadir /var/lib/glance/layers
    glance-store-layers-report --config-file /etc/glance/glance-api.conf \\
        --backend fast
    glance-store-layers-report --datadir DIR --json
    glance-store-layers-report --datadir DIR --verify

``--verify`` also reads every image back and compares its md5 with the
one recorded when it was stored (slow: it reads all the data once).

Exit status: 0 when the store is sound, 1 when damage was found, 2 on
usage errors.
"""
import argparse
import hashlib
import json
import os
import sys

from oslo_config import cfg

from glance_store_layers import blobstore
from glance_store_layers import options
from glance_store_layers import recipe as recipe_mod


def verify_image(blobs, image_id, recipe, chunk_size=1024 * 1024):
    """Re-read an image and compare its md5 with its recipe's record.

    :returns: None if it matches, else a description of the damage
    """
    md5 = hashlib.md5(usedforsecurity=False)
    image_dir = blobs.image_path(image_id)
    with open(blobs.recipe_path(image_id), 'rb') as recipe_file:
        for seg in recipe.segments:
            if seg.kind == recipe_mod.INLINE:
                recipe_file.seek(seg.ref)
                src, close = recipe_file, False
            else:
                try:
                    src = open(os.path.join(image_dir, seg.ref), 'rb')
                except FileNotFoundError:
                    return 'blob sha256:%s is missing' % seg.ref
                close = True
            try:
                left = seg.length
                while left:
                    data = src.read(min(chunk_size, left))
                    if not data:
                        return ('segment at offset %d ends %d bytes early'
                                % (seg.start, left))
                    md5.update(data)
                    left -= len(data)
            finally:
                if close:
                    src.close()
    expected = recipe.meta.get('md5')
    if expected and md5.hexdigest() != expected:
        return 'md5 is %s, %s when stored' % (md5.hexdigest(), expected)
    return None


def collect(datadir, verify=False):
    """Walk a store and return a dict of figures (see ``main``)."""
    blobs = blobstore.BlobStore(datadir)
    report = {'datadir': datadir, 'images': 0, 'images_not_split': 0,
              'logical_bytes': 0, 'blobs': 0, 'blob_bytes': 0,
              'recipe_bytes': 0, 'stored_bytes': 0,
              'shared_blobs': 0, 'unused_blobs': 0,
              'work_in_progress': 0, 'verified': 0, 'damaged': []}
    for image_id in blobs.image_ids():
        _collect_image(blobs, image_id, report, verify)
    _collect_blobs(blobs, report)
    try:
        report['work_in_progress'] = sum(
            1 for n in os.listdir(blobs.work_root) if n.endswith('.lock'))
    except FileNotFoundError:
        pass
    # Distinct inodes: blobs counted once however many images link them.
    report['stored_bytes'] = blobstore.disk_usage(
        [blobs.blob_root, blobs.image_root])
    stored = report['stored_bytes']
    report['dedupe_ratio'] = (round(report['logical_bytes'] / stored, 3)
                              if stored else None)
    return report


def _collect_image(blobs, image_id, report, verify):
    path = blobs.recipe_path(image_id)
    damaged = report['damaged']
    try:
        recipe = recipe_mod.Recipe.load(path)
    except (OSError, recipe_mod.RecipeError) as exc:
        damaged.append('image %s: recipe: %s' % (image_id, exc))
        return
    report['images'] += 1
    report['logical_bytes'] += recipe.size
    report['recipe_bytes'] += os.path.getsize(path)
    if not recipe.meta.get('split', True):
        report['images_not_split'] += 1
    missing = [d for d in recipe.digests if not os.path.exists(
        os.path.join(blobs.image_path(image_id), d))]
    damaged.extend('image %s: blob sha256:%s is missing' % (image_id, d)
                   for d in missing)
    if verify:
        report['verified'] += 1
        damage = None if missing else verify_image(blobs, image_id, recipe)
        if damage:
            damaged.append('image %s: %s' % (image_id, damage))


def _collect_blobs(blobs, report):
    for dirpath, _dirs, files in os.walk(blobs.blob_root):
        for name in files:
            try:
                st = os.stat(os.path.join(dirpath, name))
            except FileNotFoundError:
                continue
            report['blobs'] += 1
            report['blob_bytes'] += st.st_size
            users = st.st_nlink - 1
            if users > 1:
                report['shared_blobs'] += 1
            elif users < 1:
                report['unused_blobs'] += 1


def _human(n):
    for unit in ('B', 'KiB', 'MiB', 'GiB', 'TiB'):
        if abs(n) < 1024 or unit == 'TiB':
            return ('%d %s' % (n, unit) if unit == 'B'
                    else '%.1f %s' % (n, unit))
        n /= 1024.0
    return str(n)


def format_text(report):
    lines = [
        'Layers store in %s' % report['datadir'],
        '  images:          %d (%d stored whole, not split)'
        % (report['images'], report['images_not_split']),
        '  blobs:           %d (%d shared by several images, %d unused)'
        % (report['blobs'], report['shared_blobs'], report['unused_blobs']),
        '  logical bytes:   %d (%s)' % (report['logical_bytes'],
                                       _human(report['logical_bytes'])),
        '  stored bytes:    %d (%s): blobs %s, recipes %s'
        % (report['stored_bytes'], _human(report['stored_bytes']),
           _human(report['blob_bytes']), _human(report['recipe_bytes'])),
        '  logical/stored:  %s' % (report['dedupe_ratio'] or '-'),
        '  in progress:     %d uploads or deletes'
        % report['work_in_progress'],
    ]
    if report['verified']:
        lines.append('  verified:        %d images read back, md5 checked'
                     % report['verified'])
    if report['damaged']:
        lines.append('  DAMAGE:')
        lines.extend('    ' + d for d in report['damaged'])
    return '\n'.join(lines)


def _datadir_from_config(config_files, backend):
    conf = cfg.ConfigOpts()
    conf.register_opts(options.OPTS, group=backend)
    conf(args=[], project='glance', default_config_files=config_files)
    return getattr(conf, backend).layers_store_datadir


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='glance-store-layers-report',
        description='Report what a glance_store "layers" backend holds.')
    parser.add_argument('--datadir', help='the layers_store_datadir')
    parser.add_argument('--config-file', action='append', default=[],
                        help='glance-api configuration to read the '
                             'datadir from (with --backend)')
    parser.add_argument('--backend',
                        help='backend name in enabled_backends')
    parser.add_argument('--verify', action='store_true',
                        help='read every image back and check its md5')
    parser.add_argument('--json', action='store_true',
                        help='print the figures as JSON')
    args = parser.parse_args(argv)
    datadir = args.datadir
    if not datadir:
        if not (args.config_file and args.backend):
            parser.error('give --datadir, or --config-file and --backend')
        datadir = _datadir_from_config(args.config_file, args.backend)
        if not datadir:
            parser.error('layers_store_datadir is not set in [%s]'
                         % args.backend)
    if not os.path.isdir(os.path.join(datadir, 'images')):
        parser.error('%s is not a layers store directory' % datadir)
    report = collect(datadir, verify=args.verify)
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        print(format_text(report))
    return 1 if report['damaged'] else 0


if __name__ == '__main__':
    sys.exit(main())
