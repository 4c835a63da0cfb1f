"""The cloud's databases: MariaDB's start, every service's schema, the
identity bootstrap.

Schemas are synced in parallel, each once per set of REQUIREMENTS (a
stamp in ``stamps/``); on SQLite, Neutron's schema comes from its models
(``neutron_schema.py``), as its migrations cannot run there.
"""
import os
import shutil
import threading

from processes import CloudError
from processes import run
import services

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

HERE = os.path.dirname(os.path.abspath(__file__))
#: Databases MariaDB holds (SQLite makes its files by itself).
NAMES = ['keystone', 'placement', 'glance', 'nova_api', 'nova', 'nova_cell0',
         'neutron']


def start_mariadb(cloud):
    datadir = os.path.join(cloud.state, 'mysql')
    if not os.path.isdir(os.path.join(datadir, 'mysql')):
        os.makedirs(datadir, exist_ok=True)
        run(['mariadb-install-db', '--user=root', '--datadir=' + datadir,
             '--auth-root-authentication-method=socket',
             '--skip-test-db'])
    mariadb = [services.BY_NAME['mariadb']]
    services.start(cloud, mariadb)
    services.wait(cloud, mariadb)
    sql = ''.join('CREATE DATABASE IF NOT EXISTS %s CHARACTER SET utf8;'
                  % n for n in NAMES)
    run(['mariadb', '--socket=' + cloud.mysql_socket, '-uroot', '-e', sql])


def jobs(cloud):
    """Service -> the commands that create or upgrade its schema."""
    conf = lambda svc, name: os.path.join(cloud.etc, svc, name)  # noqa
    nova = ['--config-file', conf('nova', 'nova.conf')]
    commands = {
        'keystone': [
            [cloud.bin('keystone-manage'), '--config-file',
             conf('keystone', 'keystone.conf'), 'db_sync'],
        ],
        'placement': [
            [cloud.bin('placement-manage'), '--config-file',
             conf('placement', 'placement.conf'), 'db', 'sync'],
        ],
        'glance': [
            [cloud.bin('glance-manage'), '--config-file',
             conf('glance', 'glance-api.conf'), 'db_sync'],
        ],
        'nova': [
            [cloud.bin('nova-manage')] + nova + ['api_db', 'sync'],
            [cloud.bin('nova-manage')] + nova + [
                'cell_v2', 'map_cell0', '--database_connection',
                cloud.db_url('nova_cell0')],
            [cloud.bin('nova-manage')] + nova + [
                'cell_v2', 'create_cell', '--name', 'cell1'],
            [cloud.bin('nova-manage')] + nova + ['db', 'sync'],
        ],
    }
    ndm = [cloud.bin('neutron-db-manage'), '--config-file',
           conf('neutron', 'neutron.conf'), '--config-file',
           conf('neutron', 'ml2_conf.ini')]
    if cloud.s['db'] == 'sqlite':
        # Neutron's migrations ALTER constraints: not on SQLite.
        commands['neutron'] = [
            [cloud.bin('python'), os.path.join(HERE, 'neutron_schema.py'),
             cloud.db_url('neutron')],
            ndm + ['stamp', 'heads'],
        ]
    else:
        commands['neutron'] = [ndm + ['upgrade', 'heads']]
    return commands


def sync(cloud):
    """Every schema that changed with REQUIREMENTS, in parallel."""
    stamp_value = open(os.path.join(
        cloud.venv, '.pydock-cloud-requirements')).read()
    errors, done = [], []

    def job(name, commands):
        stamp = os.path.join(cloud.state, 'stamps', 'db-' + name)
        if os.path.exists(stamp) and open(stamp).read() == stamp_value:
            return
        try:
            for argv in commands:
                res = run(argv, check=False)
                # create_cell says 2 when cell1 already exists
                if res.returncode != 0 and not (
                        'create_cell' in argv and res.returncode == 2):
                    raise CloudError('%s failed (exit %d):\n%s' % (
                        ' '.join(argv[:1] + argv[-3:]), res.returncode,
                        (res.stdout + res.stderr)[-3000:]))
            with open(stamp, 'w') as f:
                f.write(stamp_value)
            done.append(name)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=job, args=item)
               for item in jobs(cloud).items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return ', '.join(sorted(done)) or 'up to date'


def keystone_setup(cloud):
    stamp = os.path.join(cloud.state, 'stamps', 'keystone-bootstrap')
    if os.path.exists(stamp):
        return
    kconf = ['--config-file', os.path.join(cloud.etc, 'keystone',
                                           'keystone.conf')]
    km = cloud.bin('keystone-manage')
    for cmd in ('fernet_setup', 'credential_setup'):
        run([km] + kconf + [cmd, '--keystone-user', 'root',
                            '--keystone-group', 'root'])
    url = cloud.url('keystone') + '/v3'
    run([km] + kconf + [
        'bootstrap', '--bootstrap-password', cloud.s['admin_password'],
        '--bootstrap-admin-url', url, '--bootstrap-internal-url', url,
        '--bootstrap-public-url', url,
        '--bootstrap-region-id', 'RegionOne'])
    open(stamp, 'w').close()


#: Glance's own metadata definitions that hold for containers too: the
#: ``quota:`` flavor keys the driver honours, descriptive software and OS
#: properties of images and servers, aggregate scheduler filters. Horizon
#: needs at least one namespace for each resource type it asks about
#: (with none, its metadata dialogs fail: futurist is handed no worker).
GLANCE_METADEFS = ('compute-quota.json', 'software-databases.json',
                   'software-runtimes.json', 'software-webservers.json',
                   'operating-system.json', 'compute-aggr-num-instances.json',
                   'compute-aggr-iops-filter.json')


def load_metadefs(cloud):
    """The project's Glance metadata definitions (etc/metadefs: the
    ``pydock:`` flavor extra specs for Horizon) and GLANCE_METADEFS from
    Glance's own, merged in, newer wins."""
    own = os.path.join(ROOT, 'etc', 'metadefs')
    glance = os.path.join(cloud.s['venv'], 'etc', 'glance', 'metadefs')
    path = os.path.join(cloud.state, 'glance', 'metadefs')
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    names = sorted(os.listdir(own))
    for name in names:
        shutil.copy(os.path.join(own, name), path)
    for name in GLANCE_METADEFS:
        shutil.copy(os.path.join(glance, name), path)
    run([cloud.bin('glance-manage'), '--config-file',
         os.path.join(cloud.etc, 'glance', 'glance-api.conf'),
         'db_load_metadefs', path, 'True', 'True'])
    return 'metadata definitions: %s and %d of Glance\'s' % (
        ', '.join(names), len(GLANCE_METADEFS))
