"""What runs in the cloud: one table, SERVICES, and how a row starts.

Each row is one process, started in the table's order within its stage
(``tools/cloud down`` stops the stages in reverse):

    Service(name, kind, target=..., configs=(...), ports={...},
            health=..., env={...}, ...)

* ``kind``: WSGI (gunicorn serves ``target``, the app's module, through
  ``boot.py``), DAEMON (``boot.py`` runs ``target``, ``module:function``,
  with ``--config-file`` for each of ``configs`` and ``--log-file
  log/<name>.log``) or INFRA (``argv`` as given: RabbitMQ, MariaDB, ...).
* ``configs``: the files under ``etc/`` it reads, as ``dir/file``. Each is
  rendered from ``templates/<file>`` unless ``config.SOURCES`` says
  otherwise; the service restarts on ``up`` when one of them changed.
* ``ports``: name -> base port (PYDOCK_CLOUD_PORT_OFFSET is added); the
  first is the one it serves: checked free before the start, shown by
  ``status``. Templates and ``argv``/``env`` refer to them as
  ``{ports[name]}`` (templates: ``${port_<name>}``).
* ``health``: how ``up`` knows it answers: a URL path (HTTP on its first
  port; any answer counts), ``'tcp'`` (its first port accepts), ``'unix:
  PATH'``, or None (Nova and Neutron daemons: provisioning waits for them
  in the services' own lists). ``timeout``: seconds it gets to answer.
* ``argv``/``env`` strings are ``str.format`` templates over
  ``{state} {etc} {run} {log} {venv} {tools} {offset_tag} {ports[...]}``
  and, in a row of a compute host, ``{host}`` (its name),
  ``{engine_dir}`` and ``{engine_socket}``.
* ``per_host``: one process per compute host (``tools/cloud up
  --computes N``, :mod:`hosts`): ``ALL_HOSTS`` (nova-compute, the OVS
  agent) or ``EXTRA_HOSTS``, hosts 2..N only (their private engines).
  On host 1 the row is as written; on host k its name, its files of
  ``HOST_FILES`` and its port names get the host's suffix ``-h<k>`` (a
  port is the row's base port + k - 1), and its templates see the
  host's values (``config.host_vars``).

To add a service (Neutron's L3 agent, say): add its row here, its new
config templates to ``templates/`` (with any new ``${variables}`` in
``config.template_vars``), and, for an API, its catalog entry in
``provision.py``. ``up`` then writes its files, starts it after the rows
before it, waits for its health check; ``down`` and ``status`` know it.
"""
import dataclasses
import os

import hosts as hosts_mod
import processes

HERE = os.path.dirname(os.path.abspath(__file__))
WSGI, DAEMON, INFRA = 'wsgi', 'daemon', 'infra'
#: Stages: what ``down`` stops together, last stage first.
ERLANG, BACKENDS, OPENSTACK = 0, 1, 2
#: Rows with a process per compute host: on all of them, or on 2..N.
ALL_HOSTS, EXTRA_HOSTS = 'all', 'extra'
#: The files of a row that each compute host has its own copy of.
HOST_FILES = ('nova/nova-cpu.conf', 'neutron/openvswitch_agent.ini')
TOOLS = os.path.dirname(HERE)


@dataclasses.dataclass(frozen=True)
class Service:
    name: str
    kind: str
    target: str = ''
    configs: tuple = ()
    ports: dict = dataclasses.field(default_factory=dict)
    health: str | None = None
    timeout: int = 240
    env: dict = dataclasses.field(default_factory=dict)
    argv: tuple = ()
    stage: int = OPENSTACK
    #: WSGI: its own --log-file (log/<name>.log)
    log_file: bool = False
    #: imports nova_pydock or glance_store_layers: restarts on new code
    loads_project: bool = False
    #: seconds between SIGTERM and SIGKILL
    stop_grace: int = processes.STOP_GRACE
    #: only with this database (tools/cloud up --mariadb)
    db: str | None = None
    #: ALL_HOSTS or EXTRA_HOSTS: a process per compute host
    per_host: str | None = None
    #: SIGTERM the main process only, not its process group (dockerd
    #: stops its containerd itself)
    signal_group: bool = True
    #: the compute host of a row ``rows`` expanded (hosts.Host)
    host: object = None

    @property
    def port(self):
        """The name of the port it serves, or None."""
        return next(iter(self.ports), None)


RABBIT_ENV = {
    'HOME': '{state}/rabbitmq',
    'RABBITMQ_NODENAME': 'pydock{offset_tag}@localhost',
    'RABBITMQ_NODE_IP_ADDRESS': '127.0.0.1',
    'RABBITMQ_NODE_PORT': '{ports[amqp]}',
    'RABBITMQ_DIST_PORT': '{ports[rabbit_dist]}',
    'ERL_EPMD_PORT': '{ports[epmd]}',
    'ERL_EPMD_ADDRESS': '127.0.0.1',
    'RABBITMQ_MNESIA_BASE': '{state}/rabbitmq/mnesia',
    'RABBITMQ_LOG_BASE': '{state}/rabbitmq/log',
    'RABBITMQ_CONFIG_FILE': '{etc}/rabbitmq/rabbitmq',
    'RABBITMQ_ENABLED_PLUGINS_FILE': '{etc}/rabbitmq/enabled_plugins',
    'RABBITMQ_PID_FILE': '{run}/rabbit.pidfile',
}
MARIADB_ARGV = (
    'mariadbd', '--user=root', '--datadir={state}/mysql',
    '--socket={run}/mysqld.sock', '--pid-file={run}/mysqld.pidfile',
    '--bind-address=127.0.0.1', '--port={ports[mysql]}',
    '--innodb-buffer-pool-size=64M', '--max-connections=500',
    '--log-error={log}/mariadb.log')
NOVA = ('nova/nova.conf',)
NEUTRON_SERVER = ('neutron/neutron.conf', 'neutron/ml2_conf.ini')
HORIZON = ('horizon/local/__init__.py', 'horizon/local/local_settings.py')
#: nova-conductor/-scheduler unforked (boot.single_process_nova)
NO_FORK = {'PYDOCK_CLOUD_NO_FORK': '1'}
#: A private engine of a compute host: tools/ensure-engine runs dockerd
#: in the foreground, so the row's PID is dockerd's.
ENGINE_ENV = {
    'PYDOCK_ENGINE_FOREGROUND': '1',
    'PYDOCK_ENGINE_SOCKET': '{engine_socket}',
    'PYDOCK_ENGINE_DATA_ROOT': '{engine_dir}/data',
    'PYDOCK_ENGINE_EXEC_ROOT': '{engine_dir}/exec',
    'PYDOCK_ENGINE_PIDFILE': '{engine_dir}/dockerd.pid',
    'PYDOCK_ENGINE_LOG': '{log}/engine-{host}.log',
}

SERVICES = [
    Service('epmd', INFRA, ports={'epmd': 4369}, health='tcp', timeout=30,
            argv=('epmd', '-port', '{ports[epmd]}', '-address',
                  '127.0.0.1'), stage=ERLANG),
    Service('rabbitmq', INFRA, ports={'amqp': 5672, 'rabbit_dist': 25672},
            health='tcp', timeout=120, env=RABBIT_ENV, stage=BACKENDS,
            configs=('rabbitmq/rabbitmq.conf', 'rabbitmq/enabled_plugins'),
            argv=('/usr/lib/rabbitmq/bin/rabbitmq-server',)),
    Service('mariadb', INFRA, ports={'mysql': 3306}, db='mariadb',
            health='unix:{run}/mysqld.sock', timeout=60, argv=MARIADB_ARGV,
            stage=BACKENDS),
    # The Docker engine of each compute host but the first (which uses
    # the machine's); `down` stops its containers before it.
    Service('engine', INFRA, per_host=EXTRA_HOSTS, stage=BACKENDS,
            health='unix:{engine_socket}', timeout=90, env=ENGINE_ENV,
            argv=('{tools}/ensure-engine',), stop_grace=40,
            signal_group=False),
    Service('keystone', WSGI, 'keystone.wsgi.api', ('keystone/keystone.conf',),
            {'keystone': 5000}, '/v3', timeout=120,
            env={'OS_KEYSTONE_CONFIG_DIR': '{etc}/keystone'}),
    Service('placement', WSGI, 'placement.wsgi.api',
            ('placement/placement.conf',), {'placement': 8778}, '/',
            env={'OS_PLACEMENT_CONFIG_DIR': '{etc}/placement'}),
    Service('glance-api', WSGI, 'glance.wsgi.api',
            ('glance/glance-api.conf', 'glance/glance-api-paste.ini'),
            {'glance': 9292}, '/', loads_project=True,
            env={'OS_GLANCE_CONFIG_DIR': '{etc}/glance'}),
    Service('nova-api', WSGI, 'nova.wsgi.osapi_compute',
            NOVA + ('nova/api-paste.ini',), {'nova': 8774}, '/v2.1',
            log_file=True, loads_project=True,
            env={'OS_NOVA_CONFIG_DIR': '{etc}/nova',
                 'OS_NOVA_CONFIG_FILES': 'api-paste.ini;nova.conf'}),
    # The metadata service (169.254.169.254), behind Neutron's proxy.
    Service('nova-metadata', WSGI, 'nova.wsgi.metadata',
            NOVA + ('nova/api-paste.ini',), {'metadata': 8775}, '/',
            log_file=True,
            env={'OS_NOVA_CONFIG_DIR': '{etc}/nova',
                 'OS_NOVA_CONFIG_FILES': 'api-paste.ini;nova.conf'}),
    Service('neutron-api', WSGI, 'neutron.wsgi.api',
            NEUTRON_SERVER + ('neutron/api-paste.ini',), {'neutron': 9696},
            '/', log_file=True,
            env={'OS_NEUTRON_CONFIG_DIR': '{etc}/neutron',
                 'OS_NEUTRON_CONFIG_FILES': 'neutron.conf;ml2_conf.ini'}),
    Service('nova-conductor', DAEMON, 'nova.cmd.conductor:main', NOVA,
            env=NO_FORK),
    Service('nova-scheduler', DAEMON, 'nova.cmd.scheduler:main', NOVA,
            env=NO_FORK),
    Service('nova-compute', DAEMON, 'nova.cmd.compute:main',
            ('nova/nova-cpu.conf',), loads_project=True,
            per_host=ALL_HOSTS),
    # Serial consoles: relays websockets to nova-compute's console
    # listener (openstack console url show --serial, pydock-console).
    Service('nova-serialproxy', DAEMON, 'nova.cmd.serialproxy:main', NOVA,
            {'serialproxy': 6083}, 'tcp', timeout=120),
    Service('neutron-rpc-server', DAEMON, 'neutron.cmd.server:main_rpc',
            NEUTRON_SERVER),
    # The dashboard: Django under gunicorn, static files by WhiteNoise
    # (horizon_wsgi.py); its settings package is etc/horizon/local.
    Service('horizon', WSGI, 'horizon_wsgi', HORIZON, {'horizon': 8080},
            '/auth/login/', env={'PYDOCK_HORIZON_ETC': '{etc}/horizon'}),
    # It sits out any grace period; its flows and ports are gone with its
    # bridges anyway. Neutron's, with tunnel port names of its own
    # (ovs_agent.py).
    Service('neutron-openvswitch-agent', DAEMON, 'ovs_agent:main',
            ('neutron/neutron.conf', 'neutron/openvswitch_agent.ini'),
            {'openflow': 6633}, stop_grace=5, per_host=ALL_HOSTS),
    # DHCP and the metadata proxy of each network: dnsmasq and haproxy
    # in a qdhcp namespace; they outlive the agent (dhcp.py stops them).
    # On host 1 only, as on a network node: ports of every host reach
    # them over the flat network and the tunnels.
    Service('neutron-dhcp-agent', DAEMON, 'neutron.cmd.agents.dhcp:main',
            ('neutron/neutron.conf', 'neutron/dhcp_agent.ini')),
    # Signs the proxied requests and asks nova-metadata.
    Service('neutron-metadata-agent', DAEMON,
            'neutron.cmd.agents.metadata:main',
            ('neutron/neutron.conf', 'neutron/metadata_agent.ini')),
    # Routers of projects (legacy: each in a qrouter namespace on host 1,
    # as on a network node) and their metadata proxy, haproxy; it leaves
    # both behind when it stops (agents.py removes them).
    Service('neutron-l3-agent', DAEMON, 'neutron.cmd.agents.l3:main',
            ('neutron/neutron.conf', 'neutron/l3_agent.ini')),
]
BY_NAME = {svc.name: svc for svc in SERVICES}


def host_file(path, host):
    """``host``'s own copy of a file of HOST_FILES (``a/b.conf`` ->
    ``a/b-h2.conf``); other files are shared."""
    if path not in HOST_FILES or not host.suffix:
        return path
    stem, ext = os.path.splitext(path)
    return stem + host.suffix + ext


def _on_host(svc, host):
    ports = {name + host.suffix.replace('-', '_'): base + host.index - 1
             for name, base in svc.ports.items()}
    return dataclasses.replace(
        svc, name=svc.name + host.suffix, host=host, ports=ports,
        configs=tuple(host_file(c, host) for c in svc.configs))


def expand(svc, settings, state):
    """The processes of one row: itself, or one per compute host."""
    if svc.per_host is None:
        return [svc]
    on = (hosts_mod.compute_hosts(settings, state) if svc.per_host ==
          ALL_HOSTS else hosts_mod.extra_hosts(settings, state))
    return [_on_host(svc, host) for host in on]


def enabled(settings, state):
    """The processes this cloud runs, in the table's order (its
    database decides about MariaDB, --computes about the hosts' rows)."""
    return [row for svc in SERVICES if svc.db in (None, settings['db'])
            for row in expand(svc, settings, state)]


def stage(settings, state, number):
    return [svc for svc in enabled(settings, state) if svc.stage == number]


def base_ports(settings, state):
    """Every port of the cloud's processes, before the offset."""
    return {k: v for svc in SERVICES for row in expand(svc, settings, state)
            for k, v in row.ports.items()}


def format_vars(cloud, host=None):
    fmt = {'state': cloud.state, 'etc': cloud.etc, 'run': cloud.run_dir,
           'log': cloud.log_dir, 'venv': cloud.venv, 'tools': TOOLS,
           'offset_tag': cloud.s['offset'] or '',
           'ports': cloud.s['ports']}
    if host is not None:
        fmt.update(host=host.name, engine_dir=host.engine_dir,
                   engine_socket=host.engine_socket)
    return fmt


def _wsgi(cloud, svc, fmt):
    own_argv = [svc.name]
    if svc.log_file:
        own_argv += ['--log-file',
                     os.path.join(cloud.log_dir, svc.name + '.log')]
    env = {k: v.format(**fmt) for k, v in svc.env.items()}
    env.update(PYDOCK_CLOUD_APP=svc.target,
               PYDOCK_CLOUD_ARGV=' '.join(own_argv))
    argv = [cloud.bin('gunicorn'), '--bind',
            '127.0.0.1:%d' % cloud.s['ports'][svc.port],
            '--workers', '1', '--threads', '8',
            '--worker-class', 'gthread', '--timeout', '900',
            '--graceful-timeout', '10', '--pythonpath', HERE,
            '--control-socket', os.path.join(cloud.run_dir,
                                             svc.name + '.ctl'),
            '--name', '%s-%s' % (cloud.s['host'], svc.name)]
    for k, v in env.items():
        argv += ['--env', '%s=%s' % (k, v)]
    return argv + ['boot:application'], {}


def _daemon(cloud, svc, fmt):
    argv = [cloud.bin('python'), os.path.join(HERE, 'boot.py'), svc.target,
            svc.name]
    for c in svc.configs:
        argv += ['--config-file', os.path.join(cloud.etc, c)]
    argv += ['--log-file', os.path.join(cloud.log_dir, svc.name + '.log')]
    return argv, {k: v.format(**fmt) for k, v in svc.env.items()}


def _infra(cloud, svc, fmt):
    return ([a.format(**fmt) for a in svc.argv],
            {k: v.format(**fmt) for k, v in svc.env.items()})


def command(cloud, svc):
    """(argv, environment) that start ``svc``."""
    build = {WSGI: _wsgi, DAEMON: _daemon, INFRA: _infra}[svc.kind]
    return build(cloud, svc, format_vars(cloud, svc.host))


def start(cloud, rows):
    """Start the rows that are not running; returns the names started."""
    started = []
    for svc in rows:
        if cloud.procs.running(svc.name):
            continue
        if svc.port:
            processes.check_port_free(cloud.s['ports'][svc.port], svc.name)
        argv, env = command(cloud, svc)
        cloud.procs.spawn(svc.name, argv, env=env)
        started.append(svc.name)
    return started


def healthy(cloud, svc):
    """A callable that says whether ``svc`` answers, or None."""
    if svc.health is None:
        return None
    if svc.health == 'tcp':
        port = cloud.s['ports'][svc.port]
        return lambda: processes.port_open(port)
    if svc.health.startswith('unix:'):
        path = svc.health[len('unix:'):].format(
            **format_vars(cloud, svc.host))
        return lambda: processes.port_open_unix(path)
    url = cloud.url(svc.port) + svc.health
    return lambda: processes.http_ready(url)


def wait(cloud, rows):
    """Wait until every row with a health check answers."""
    for svc in rows:
        check = healthy(cloud, svc)
        if check:
            cloud.procs.wait(svc.name, check, svc.timeout)
