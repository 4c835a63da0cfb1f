"""``pydock-status``: checks an operator runs before starting nova-compute.

Each check prints one line, ``OK``, ``WARN`` (nova-compute starts, but
something is not as the operator meant) or ``FAIL``, with what to do; the
exit code is the number of failed checks. Reads the same configuration files as
nova-compute (``--config-file /etc/nova/nova.conf``).
"""
import importlib
import sys

from oslo_config import cfg

from nova_pydock import conf as pydock_conf
from nova_pydock import security

DRIVER_SETTING = 'pydock.PyDockDriver'
WARN = 'WARN'
_LABELS = {True: 'OK  ', False: 'FAIL', WARN: WARN}


def check_nova():
    try:
        importlib.import_module('nova.virt.driver')
    except ImportError as exc:
        return False, ("Nova is not importable here (%s): install nova>=34 "
                       "in the Python environment of nova-compute" % exc)
    try:
        importlib.import_module('nova.virt.pydock')
    except ImportError as exc:
        return False, ("nova.virt.pydock cannot be imported (%s): reinstall "
                       "nova-pydock into the environment that has nova" % exc)
    return True, "Nova and the nova.virt.pydock shim import"


def check_compute_driver(conf):
    value = conf.compute_driver
    if value == DRIVER_SETTING:
        return True, "[DEFAULT] compute_driver = %s" % value
    if value and value.lower().replace('_', '') in (
            DRIVER_SETTING.lower(), 'nova.virt.pydock.pydockdriver',
            'novapydock.driver.pydockdriver', 'pydock',
            'pydock.driver.pydockdriver'):
        return False, ("[DEFAULT] compute_driver = %s is misspelt: "
                       "write exactly compute_driver = %s"
                       % (value, DRIVER_SETTING))
    return False, ("[DEFAULT] compute_driver is %r: set compute_driver = %s "
                   "to run instances as containers" % (value, DRIVER_SETTING))


def _engine(conf):
    # Imported here: it needs nova, whose absence check_nova reports.
    from nova_pydock import engine  # noqa: PLC0415
    return engine, engine.EngineClient.from_conf(conf)


def check_engine(conf):
    engine, client = _engine(conf)
    try:
        version = client.version()
    except engine.EngineUnavailable as exc:
        return False, str(exc)
    return True, ("engine at %s answers: %s, API %s"
                  % (conf.pydock.engine_url, version['Version'],
                     version['ApiVersion']))


def check_allowed_cap_add(conf):
    """A typo in ``allowed_cap_add`` would only show as refused flavors."""
    allowed = conf.pydock.allowed_cap_add
    unknown = security.unknown_capabilities(allowed)
    if unknown:
        return WARN, ("[pydock] allowed_cap_add has %s, which %s no Linux "
                      "capability: no flavor can add %s; write names as in "
                      "capabilities(7), e.g. NET_ADMIN"
                      % (', '.join(repr(name) for name in unknown),
                         'is' if len(unknown) == 1 else 'are',
                         'it' if len(unknown) == 1 else 'them'))
    return True, ("[pydock] allowed_cap_add = %s"
                  % (', '.join(allowed) or '(empty: flavors add none)'))


def check_live_restore(conf):
    """Without live restore an engine restart stops every container."""
    engine, client = _engine(conf)
    try:
        enabled = client.info().get('LiveRestoreEnabled')
    except engine.EngineUnavailable as exc:
        return False, str(exc)
    if enabled:
        return True, ("engine live restore is on: servers keep running "
                      "while the engine restarts")
    return WARN, ("engine live restore is off: an engine restart (a "
                  "docker.io upgrade, a crash) stops every server until "
                  "nova-pydock starts them again; start dockerd with "
                  "--live-restore (or \"live-restore\": true in "
                  "/etc/docker/daemon.json) and restart it once")


def main(argv=None):
    conf = cfg.ConfigOpts()
    pydock_conf.register_opts(conf)
    conf.register_opt(cfg.StrOpt('compute_driver'))
    conf(argv if argv is not None else sys.argv[1:], project='nova',
         default_config_files=[])
    results = [check_nova(), check_compute_driver(conf),
               check_allowed_cap_add(conf), check_engine(conf)]
    if results[-1][0]:
        results.append(check_live_restore(conf))
    failed = 0
    for verdict, line in results:
        print('%s  %s' % (_LABELS[verdict], line))
        failed += verdict is False
    return failed


if __name__ == '__main__':
    sys.exit(main())
