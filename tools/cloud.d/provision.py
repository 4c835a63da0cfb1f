"""Provisioning of the tools/cloud cloud, run with the services' venv python.

    provision.py identity  CLOUD_JSON STATE_DIR  service project, users,
                                                 roles, catalog
    provision.py services  CLOUD_JSON STATE_DIR  compute service up and
                                                 mapped to cell1, network
                                                 agent alive
    provision.py resources CLOUD_JSON STATE_DIR  flavors, busybox image,
                                                 demo network
    provision.py image                           the busybox image alone
                                                 (devstack/plugin.sh)

Every phase is idempotent: it finds what exists and creates only what is
missing. It talks to the APIs as the admin of clouds.yaml (OS_CLOUD,
OS_CLIENT_CONFIG_FILE set by tools/cloud).
"""
import datetime
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time

import openstack

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, 'devstack'))
sys.path.insert(0, os.path.join(ROOT, 'tools', 'lib'))
import pydock_config  # noqa: E402

import busybox_image  # noqa: E402

SERVICES = [
    # user, service type, name, path
    ('nova', 'compute', 'nova', 'nova', '/v2.1'),
    ('placement', 'placement', 'placement', 'placement', ''),
    ('glance', 'image', 'glance', 'glance', ''),
    ('neutron', 'network', 'neutron', 'neutron', ''),
]
IMAGE_NAME = 'busybox'
#: The busybox image's command: a banner on the console at every start,
#: as a VM's boot shows (its names, the addresses the driver plugged in
#: its first second, what it serves), then a web server, so that a
#: server on the demo network answers TCP; the page survives a snapshot.
IMAGE_SCRIPT = r"""
mkdir -p /www
[ -e /www/index.html ] || echo "hello from $(hostname)" > /www/index.html
n=0
while [ $n -lt 100 ] && ! ip -4 -o addr show scope global | grep -q inet; do
    sleep 0.1; n=$((n + 1))
done
name=$(hostname -f 2>/dev/null || hostname)
version=$(busybox | head -1 | cut -d' ' -f2)
echo "=== $name: busybox $version ==="
ip -4 -o addr show scope global | grep -q inet || echo "no IPv4 address"
ip -4 -o addr show scope global | while read -r _ dev _ addr _; do
    echo "address $addr on $dev"
done
ip -4 route show default | sed 's/^/route /'
echo "serving http on port 80 (busybox httpd, /www)"
exec httpd -f -v -p 80 -h /www
"""
IMAGE_CMD = ['sh', '-c', IMAGE_SCRIPT.strip()]
#: Image property naming the recipe: an image made from an older recipe
#: is replaced at the next ``up``.
IMAGE_RECIPE = hashlib.sha256(json.dumps(IMAGE_CMD).encode()).hexdigest()[:12]


def say(text):
    print(text, flush=True)


def connect():
    conn = openstack.connect()
    conn.authorize()
    return conn


def wait_for(what, check, timeout, interval=1.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except Exception as exc:  # noqa: BLE001 - retried, then reported
            result, last = None, exc
        else:
            last = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise SystemExit('timed out after %ds waiting for %s%s' % (
                timeout, what, ': %s' % last if last else ''))
        time.sleep(interval)


def identity(conn, cfg):
    idc = conn.identity
    domain = idc.find_domain('default')
    project = idc.find_project('service', domain_id=domain.id)
    if not project:
        project = idc.create_project(name='service', domain_id=domain.id,
                                     description='OpenStack services')
    roles = {}
    for role in ('admin', 'service'):
        roles[role] = idc.find_role(role) or idc.create_role(name=role)
    region = 'RegionOne'
    made = []
    for user, stype, sname, port_key, path in SERVICES:
        u = idc.find_user(user, domain_id=domain.id)
        if not u:
            u = idc.create_user(name=user, domain_id=domain.id,
                                password=cfg['service_password'],
                                default_project_id=project.id)
            made.append('user ' + user)
        else:
            idc.update_user(u, password=cfg['service_password'])
        for role in roles.values():
            idc.assign_project_role_to_user(project, u, role)
        svc = idc.find_service(sname)
        if not svc:
            svc = idc.create_service(name=sname, type=stype,
                                     description='%s service' % sname)
        url = 'http://127.0.0.1:%d%s' % (cfg['ports'][port_key], path)
        existing = {e.interface: e for e in idc.endpoints(service_id=svc.id)}
        for interface in ('public', 'internal'):
            ep = existing.get(interface)
            if ep and ep.url != url:
                idc.update_endpoint(ep, url=url)
            elif not ep:
                idc.create_endpoint(service_id=svc.id, interface=interface,
                                    url=url, region_id=region)
                made.append('%s %s endpoint' % (sname, interface))
    say('service project, users nova/glance/neutron/placement with roles '
        'admin+service, catalog of 5 services%s'
        % ('' if made else ' (all present)'))


def _since(timestamp, started):
    """Whether an API timestamp (UTC, ISO 8601) is after ``started``."""
    if not timestamp:
        return False
    when = datetime.datetime.fromisoformat(
        str(timestamp).replace('Z', '+00:00').replace(' ', 'T'))
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return when.timestamp() >= started - 1


def _started(state, name):
    """When tools/cloud last started ``name`` (epoch seconds), or 0."""
    try:
        with open(os.path.join(state, 'run', name + '.pid')) as f:
            return json.load(f).get('time', 0)
    except (OSError, ValueError):
        return 0


def services(conn, cfg, state):
    host = cfg['host']
    # A heartbeat from before the last start (seconds ago, still "up")
    # says nothing about the process that runs now.
    compute_started = _started(state, 'nova-compute')

    def compute_up():
        return [s for s in conn.compute.services(binary='nova-compute',
                                                  host=host)
                if s.state == 'up' and s.status == 'enabled'
                and _since(s.updated_at, compute_started)]
    wait_for('nova-compute on %s to report' % host, compute_up, 180)
    nova_conf = os.path.join(state, 'etc', 'nova', 'nova.conf')

    def hypervisor():
        if list(conn.compute.hypervisors()):
            return True
        subprocess.run([os.path.join(sys.prefix, 'bin', 'nova-manage'),
                        '--config-file', nova_conf, 'cell_v2',
                        'discover_hosts'], capture_output=True, check=True)
        return bool(list(conn.compute.hypervisors()))
    wait_for('the hypervisor in cell1', hypervisor, 120, 2)
    say('nova-compute %s up, mapped to cell1' % host)

    agents = {'Open vSwitch agent': 'neutron-openvswitch-agent',
              'DHCP agent': 'neutron-dhcp-agent',
              'Metadata agent': 'neutron-metadata-agent'}
    for agent_type, name in agents.items():
        wait_for('the %s on %s' % (agent_type, host),
                 _agent_alive(conn, host, agent_type, _started(state, name)),
                 180, 2)
    say('neutron agents alive: Open vSwitch (bridge %s, datapath netdev), '
        'DHCP, metadata' % cfg['int_bridge'])


def _agent_alive(conn, host, agent_type, started):
    def alive():
        return [a for a in conn.network.agents(host=host)
                if a.agent_type == agent_type and a.is_alive
                and _since(a.last_heartbeat_at, started)]
    return alive


def flavors(conn):
    made = []
    for name, ram, vcpus, disk, specs in pydock_config.FLAVORS:
        flavor = conn.compute.find_flavor(name)
        if not flavor:
            flavor = conn.compute.create_flavor(name=name, ram=ram,
                                                vcpus=vcpus, disk=disk,
                                                is_public=True)
            made.append(name)
        current = conn.compute.fetch_flavor_extra_specs(flavor).extra_specs
        missing = {k: v for k, v in specs.items() if current.get(k) != v}
        if missing:
            conn.compute.create_flavor_extra_specs(flavor, missing)
    say('flavors %s' % ', '.join(f[0] for f in pydock_config.FLAVORS)
        + (' (created)' if made else ''))


def build_busybox_archive(path):
    """A busybox docker image built locally, as a `docker save` archive."""
    import docker  # noqa: PLC0415 - devstack's phase alone needs it

    api = docker.APIClient(version='auto')
    ref = busybox_image.import_image(api, 'pydock-cloud/busybox', 'latest',
                                     IMAGE_CMD)
    busybox_image.save_archive(api, ref, path)
    return path


def image(conn):
    found = [i for i in conn.image.images(name=IMAGE_NAME)
             if i.status == 'active'
             and i.properties.get('pydock_recipe') == IMAGE_RECIPE]
    if found:
        say('image %s present (%s)' % (IMAGE_NAME, found[0].id))
        return
    for stale in conn.image.images(name=IMAGE_NAME):
        conn.image.delete_image(stale)
    with tempfile.TemporaryDirectory() as tmp:
        path = build_busybox_archive(os.path.join(tmp, 'busybox.tar'))
        size = os.path.getsize(path)
        with open(path, 'rb') as data:
            img = conn.image.create_image(
                name=IMAGE_NAME, container_format='docker',
                disk_format='raw', visibility='public', data=data,
                validate_checksum=False, pydock_recipe=IMAGE_RECIPE)
    def active():
        current = conn.image.get_image(img.id)
        return current if current.status == 'active' else None
    img = wait_for('image %s to become active' % IMAGE_NAME, active, 120)
    say('image %s uploaded (%d KB docker archive, container_format docker, '
        'store %s)' % (IMAGE_NAME, size // 1024,
                       img.properties.get('stores') or
                       getattr(img, 'stores', '') or 'local'))


def network(conn, cfg):
    net = conn.network.find_network('demo')
    if not net:
        net = conn.network.create_network(
            name='demo', provider_network_type='flat',
            provider_physical_network=cfg['physnet'], is_shared=True)
    subnet = conn.network.find_subnet('demo-subnet')
    if not subnet:
        subnet = conn.network.create_subnet(
            name='demo-subnet', network_id=net.id, ip_version=4,
            cidr=cfg['subnet'], gateway_ip=cfg['gateway'],
            allocation_pools=[{'start': cfg['pool'][0],
                               'end': cfg['pool'][1]}],
            is_dhcp_enabled=True)
    elif not subnet.is_dhcp_enabled:
        # Clouds from before the metadata service: DHCP brings its proxy.
        subnet = conn.network.update_subnet(subnet, is_dhcp_enabled=True)
    dhcp = wait_for('the DHCP port of demo-subnet',
                    lambda: _dhcp_address(conn, net, subnet), 120, 2)
    say('network demo: flat on physnet %s, %s, host side %s on %s, DHCP '
        'and metadata proxy at %s' % (cfg['physnet'], cfg['subnet'],
                                      cfg['gateway'], cfg['host_port'], dhcp))


def _dhcp_address(conn, net, subnet):
    """The DHCP port's address on ``subnet`` once it is ACTIVE."""
    for port in conn.network.ports(network_id=net.id,
                                   device_owner='network:dhcp'):
        for ip in port.fixed_ips:
            if ip['subnet_id'] == subnet.id and port.status == 'ACTIVE':
                return ip['ip_address']
    return None


def main():
    phase = sys.argv[1]
    conn = wait_for('keystone', connect, 60)
    if phase == 'image':  # devstack's plugin: the image alone
        image(conn)
        return
    cfg_path, state = sys.argv[2:4]
    with open(cfg_path) as f:
        cfg = json.load(f)
    if phase == 'identity':
        identity(conn, cfg)
    elif phase == 'services':
        services(conn, cfg, state)
    elif phase == 'resources':
        flavors(conn)
        image(conn)
        network(conn, cfg)
    else:
        raise SystemExit('unknown phase %s' % phase)


if __name__ == '__main__':
    main()
