"""Configuration of tools/cloud: every file under ``etc/``, from one place.

The files are the ``configs`` of the services table. ``etc/<dir>/<file>``
is ``templates/<file>`` with ``string.Template`` variables from
``template_vars`` (mode 0600: passwords), unless SOURCES says otherwise:

* ``Template(name, **overrides)``: another template, some variables
  changed (``nova-cpu.conf`` is ``nova.conf`` without the database
  connections: nova-compute reaches the databases through nova-conductor
  only, as in devstack's nova-cpu.conf, or Nova logs "No DB access
  allowed" at start);
* ``FromVenv(path)``: a file the venv ships (paste pipelines);
* ``Literal(text)``.

Compute hosts 2..N (``hosts.py``) have their own copies of the files
of ``services.HOST_FILES``: the same templates with the host's values
(``host_vars``: its name, nova state, engine, bridges, OpenFlow port,
tunnel endpoint).

A file is only rewritten when its text changes; ``write`` returns what
changed, so ``up`` restarts exactly the services that read it.
"""
import dataclasses
import os
import secrets
import string

import hosts
import pydock_config
import services

HERE = os.path.dirname(os.path.abspath(__file__))
OVSDB_SOCKET = '/var/run/openvswitch/db.sock'
#: Directories of the state that the services expect to exist.
STATE_DIRS = ('db', 'log', 'run', 'keystone', 'glance/layers',
              'glance/staging', 'glance/tasks', 'glance/locks',
              'nova/instances', 'nova/locks', 'neutron/locks',
              'rabbitmq/mnesia', 'rabbitmq/log', 'stamps',
              'horizon/sessions', 'horizon/cache')


@dataclasses.dataclass(frozen=True)
class Template:
    name: str
    overrides: dict = dataclasses.field(default_factory=dict)
    mode: int = 0o600

    def render(self, cloud, variables):
        with open(os.path.join(HERE, 'templates', self.name)) as f:
            return string.Template(f.read()).substitute(
                variables, **self.overrides)


@dataclasses.dataclass(frozen=True)
class FromVenv:
    path: str
    mode: int = 0o644

    def render(self, cloud, variables):
        with open(os.path.join(cloud.venv, self.path)) as f:
            return f.read()


@dataclasses.dataclass(frozen=True)
class Literal:
    text: str
    mode: int = 0o644

    def render(self, cloud, variables):
        return self.text


@dataclasses.dataclass(frozen=True)
class HorizonSettings:
    """Horizon's local_settings.py from devstack/pydock_config.py; its
    secret key is made once and kept in cloud.json (sessions stay valid
    across restarts)."""
    mode: int = 0o600

    def render(self, cloud, variables):
        if 'horizon_secret_key' not in cloud.s:
            cloud.s['horizon_secret_key'] = secrets.token_urlsafe(32)
            cloud.save()
        return pydock_config.render_python(pydock_config.horizon(
            cloud.url('keystone'), os.path.join(cloud.state, 'horizon'),
            cloud.s['horizon_secret_key']))


#: nova-compute's file: no database connections.
NO_DB = {'nova_api_database': '', 'nova_database': ''}
SOURCES = {
    'horizon/local/local_settings.py': HorizonSettings(),
    'horizon/local/__init__.py': Literal(''),
    'nova/nova-cpu.conf': Template('nova.conf', NO_DB),
    'nova/api-paste.ini': FromVenv('etc/nova/api-paste.ini'),
    'neutron/api-paste.ini': FromVenv('etc/neutron/api-paste.ini'),
    'glance/glance-api-paste.ini': FromVenv('etc/glance/glance-api-paste.ini'),
    'rabbitmq/enabled_plugins': Literal('[].\n'),
}


def source(cloud, path):
    for host in hosts.extra_hosts(cloud.s, cloud.state):
        for shared in services.HOST_FILES:
            if services.host_file(shared, host) == path:
                base = source(cloud, shared)
                return dataclasses.replace(base, overrides=dict(
                    base.overrides, **host_vars(cloud, host)))
    return SOURCES.get(path) or Template(os.path.basename(path))


def write_if_changed(path, text, mode=0o644):
    if os.path.exists(path):
        with open(path) as f:
            if f.read() == text:
                return False
    tmp = path + '.tmp'
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode),
              'w') as f:
        f.write(text)
    os.replace(tmp, path)
    return True


def write(cloud, paths):
    """Write ``paths`` (``dir/file`` under etc/), clouds.yaml and the state
    directories; returns the paths whose text changed."""
    variables = template_vars(cloud)
    changed = []
    for path in paths:
        full = os.path.join(cloud.etc, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        src = source(cloud, path)
        if write_if_changed(full, src.render(cloud, variables), src.mode):
            changed.append(path)
    write_if_changed(cloud.clouds_yaml,
                     Template('clouds.yaml').render(cloud, variables), 0o600)
    for sub in STATE_DIRS:
        os.makedirs(os.path.join(cloud.state, sub), exist_ok=True)
    for host in hosts.extra_hosts(cloud.s, cloud.state):
        for sub in ('instances', 'locks'):
            os.makedirs(os.path.join(host.nova_state, sub), exist_ok=True)
        os.makedirs(host.engine_dir, mode=0o700, exist_ok=True)
    return changed


# -- variables ---------------------------------------------------------------

def _authtoken(cloud, user):
    return '\n'.join([
        'www_authenticate_uri = %s' % cloud.url('keystone'),
        _creds(cloud, user),
        'service_token_roles_required = true',
        'service_type = %s' % {
            'nova': 'compute', 'glance': 'image', 'neutron': 'network',
            'placement': 'placement'}[user],
    ])


def _creds(cloud, user):
    return '\n'.join([
        'auth_url = %s' % cloud.url('keystone'),
        'auth_type = password',
        'username = %s' % user,
        'password = %s' % cloud.s['service_password'],
        'project_name = service',
        'user_domain_name = Default',
        'project_domain_name = Default',
    ])


def _nova_pydock(cloud, engine_url):
    """What nova.conf takes from devstack/pydock_config.py."""
    proxy_port = cloud.s['ports']['serialproxy']
    # No DHCP in containers: the route the DHCP agent (force_metadata)
    # would offer.
    compute = (pydock_config.nova_compute(engine_url, metadata_route='dhcp')
               + pydock_config.nova_controller()
               + pydock_config.serial_console(
                   'ws://127.0.0.1:%d/' % proxy_port)
               # nova-serialproxy reads the same file
               + [('serial_console', 'serialproxy_host', '127.0.0.1'),
                  ('serial_console', 'serialproxy_port', str(proxy_port))])
    defaults = [(k, v) for sec, k, v in compute if sec == 'DEFAULT']
    sections = pydock_config.render_ini(
        [row for row in compute if row[0] != 'DEFAULT'])
    return {
        'compute_driver': pydock_config.COMPUTE_DRIVER,
        'nova_compute_defaults': '\n'.join(
            '%s = %s' % kv for kv in defaults
            if kv[0] != 'compute_driver') +
        '\nresume_guests_state_on_host_boot = true',
        'nova_compute_sections': '\n\n'.join(
            '[%s]\n%s' % kv for kv in sections.items()),
        'nova_api_database': 'connection = %s\n' % cloud.db_url('nova_api'),
        'nova_database': 'connection = %s\n' % cloud.db_url('nova'),
    }


def _databases(cloud):
    return {'db_' + name: cloud.db_url(name) for name in (
        'keystone', 'placement', 'glance', 'nova_api', 'nova', 'neutron')}


def host_vars(cloud, host):
    """What differs between the compute hosts' files."""
    return {
        'host': host.name, 'nova_state': host.nova_state,
        'nova_conf': os.path.join(cloud.etc, services.host_file(
            'nova/nova-cpu.conf', host) if host.suffix else 'nova/nova.conf'),
        'nova_compute_sections': _nova_pydock(
            cloud, host.engine_url)['nova_compute_sections'],
        'int_bridge': host.int_bridge, 'tun_bridge': host.tun_bridge,
        'phys_bridge': host.phys_bridge, 'tunnel_ip': host.tunnel_ip,
        'int_peer_patch': host.tunnel_patch_ports[0],
        'tun_peer_patch': host.tunnel_patch_ports[1],
        'of_port': cloud.s['ports'][
            'openflow' + host.suffix.replace('-', '_')],
    }


def template_vars(cloud):
    s, p = cloud.s, cloud.s['ports']
    glance = {(sec, k): v for sec, k, v in pydock_config.glance_api(
        os.path.join(cloud.state, 'glance', 'layers'))}
    users = ('placement', 'glance', 'nova', 'neutron')
    variables = {
        'state': cloud.state, 'etc': cloud.etc, 'log_dir': cloud.log_dir,
        'venv': cloud.venv, 'host': s['host'],
        'cloud_name': s['name'],
        'keystone_url': cloud.url('keystone'),
        'glance_url': cloud.url('glance'),
        'neutron_url': cloud.url('neutron'),
        'transport_url': 'rabbit://pydock:%s@127.0.0.1:%d/' % (
            s['rabbit_password'], p['amqp']),
        'rabbit_port': p['amqp'], 'rabbit_user': 'pydock',
        'rabbit_password': s['rabbit_password'],
        'admin_password': s['admin_password'],
        'metadata_secret': s['metadata_secret'],
        'glance_container_formats': glance[
            ('image_format', 'container_formats')],
        'glance_disk_formats': pydock_config.DISK_FORMATS,
        'neutron_config_args': '--config-file %s/neutron/neutron.conf'
                               % cloud.etc,
        'physnet': s['physnet'],
        'ovsdb_connection': 'unix:' + OVSDB_SOCKET,
    }
    variables.update({'port_' + k: v for k, v in p.items()})
    variables.update({'authtoken_' + u: _authtoken(cloud, u) for u in users})
    variables.update({'creds_' + u: _creds(cloud, u)
                      for u in ('nova', 'neutron')})
    variables.update(_databases(cloud))
    first = hosts.compute_hosts(s, cloud.state)[0]
    variables.update(_nova_pydock(cloud, first.engine_url))
    variables.update(host_vars(cloud, first))
    return variables
