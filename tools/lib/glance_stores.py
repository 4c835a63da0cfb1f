"""Glance stores configured in-process, for the benchmarks.

The layers store and glance_store's file store side by side through
glance_store's multi-store API (``enabled_backends = layers:layers,
file:file``), each with its default options and a fresh data directory,
the layers store the default backend.
"""
import os

import glance_store
from glance_store import multi_backend
from oslo_config import cfg


def configure(root):
    """Both stores, with data directories ``root``/layers and /file."""
    conf = cfg.ConfigOpts()
    multi_backend.CONF = conf
    glance_store.location.SCHEME_TO_CLS_BACKEND_MAP = {}
    conf(args=[])
    conf.register_opt(cfg.DictOpt('enabled_backends'))
    conf.set_override('enabled_backends',
                      {'layers': 'layers', 'file': 'file'})
    glance_store.register_store_opts(conf)
    conf.set_override('default_backend', 'layers', group='glance_store')
    conf.set_override('layers_store_datadir', os.path.join(root, 'layers'),
                      group='layers')
    conf.set_override('filesystem_store_datadir',
                      os.path.join(root, 'file'), group='file')
    glance_store.create_multi_stores(conf)
    return conf
