"""Provisioning of the tools/cloud cloud, run with the services' venv python.

    provision.py identity  CLOUD_JSON STATE_DIR  service project, users,
                                                 roles, catalog
    provision.py services  CLOUD_JSON STATE_DIR  compute services up and
                                                 mapped to cell1, network
                                                 agents alive (one each
                                                 per compute host)
    provision.py resources CLOUD_JSON STATE_DIR  flavors, busybox and
                                                 busybox-ssh images, demo
                                                 network, quotas of the
                                                 admin project
    provision.py image                           the two images alone
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
sys.path.insert(0, HERE)
import dropbear_files  # noqa: E402
import hosts  # noqa: E402
import pydock_config  # noqa: E402

import busybox_image  # noqa: E402

SERVICES = [
    # user, service type, name, path
    ('nova', 'compute', 'nova', 'nova', '/v2.1'),
    ('placement', 'placement', 'placement', 'placement', ''),
    ('glance', 'image', 'glance', 'glance', ''),
    ('neutron', 'network', 'neutron', 'neutron', ''),
]
#: The busybox image's command: a banner on the console at every start,
#: as a VM's boot shows (its names, the addresses the driver plugged in
#: its first second, what it serves), then a web server, so that a
#: server on the demo network answers TCP; the page survives a snapshot.
BANNER_SCRIPT = r"""
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
"""
HTTP_SCRIPT = r"""
echo "serving http on port 80 (busybox httpd, /www)"
exec httpd -f -v -p 80 -h /www
"""
#: busybox-ssh adds, before the web server, an SSH server for root
#: (dropbear, public keys only) in the background: it trusts the key
#: pair's public keys of the config drive when there is one, else of the
#: metadata service (EC2 path: the plain key), rewritten at every start
#: (a rebuild may change the key pair), as cloud-init does on cirros.
SSH_SCRIPT = r"""
mkdir -p /root/.ssh /etc/dropbear
chmod 700 /root/.ssh
(
keys=/root/.ssh/authorized_keys
drive=/config-drive/openstack/latest/meta_data.json
md=http://169.254.169.254/latest/meta-data
: > $keys
if [ -r $drive ]; then
    from="config drive"
    sed -n 's/.*"public_keys": *{\([^}]*\)}.*/\1/p' $drive |
        sed 's/", *"/"\n"/g' | sed -n 's/^ *"[^"]*": *"\(.*\)"$/\1/p' |
        sed 's/\\n$//' > $keys
else
    from="metadata service"
    n=0
    # timeout, not wget -T: Debian's busybox 1.35 wget segfaults when a
    # request fails with -T set.
    until listing=$(timeout 5 wget -q -O - $md/ 2>/dev/null); do
        n=$((n + 1)); [ $n -ge 30 ] && break
        sleep 1
    done
    case "$listing" in *public-keys*)
        timeout 5 wget -q -O - $md/public-keys/0/openssh-key > $keys ;;
    esac
fi
chmod 600 $keys
count=$(grep -c . $keys 2>/dev/null)
echo "serving ssh on port 22 (dropbear, user root, ${count:-0} key(s)" \
    "from the $from)"
exec dropbear -F -E -R -s -p 22
) &
"""
IMAGE_NAME = 'busybox'


def _command(*scripts):
    return ['sh', '-c', '\n'.join(script.strip() for script in scripts)]


IMAGE_CMD = _command(BANNER_SCRIPT, HTTP_SCRIPT)
#: The image Tempest logs in to ([validation] run_validation).
SSH_IMAGE_NAME = 'busybox-ssh'
SSH_IMAGE_CMD = _command(BANNER_SCRIPT, SSH_SCRIPT, HTTP_SCRIPT)


def _recipe(command):
    """Image property naming the recipe: an image made from an older recipe
    is replaced at the next ``up``."""
    return hashlib.sha256(json.dumps(command).encode()).hexdigest()[:12]


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
    computes = hosts.compute_hosts(cfg, state)
    for host in computes:
        wait_for_compute(conn, host, state)
    nova_conf = os.path.join(state, 'etc', 'nova', 'nova.conf')
    names = {host.name for host in computes}

    def hypervisors():
        if names <= {h.name for h in conn.compute.hypervisors()}:
            return True
        subprocess.run([os.path.join(sys.prefix, 'bin', 'nova-manage'),
                        '--config-file', nova_conf, 'cell_v2',
                        'discover_hosts'], capture_output=True, check=True)
        return names <= {h.name for h in conn.compute.hypervisors()}
    wait_for('the hypervisors of %s in cell1' % ', '.join(sorted(names)),
             hypervisors, 120, 2)
    say('nova-compute %s up, mapped to cell1' % ', '.join(
        host.name for host in computes))
    for host in computes:
        wait_for_agent(conn, host, state)
    wait_for_network_node(conn, cfg, state)
    say('neutron agents alive: Open vSwitch on each host (bridge%s %s, '
        'datapath netdev), DHCP, metadata and L3 on %s' % (
            's' if len(computes) > 1 else '',
            ', '.join(host.int_bridge for host in computes), cfg['host']))


def wait_for_compute(conn, host, state):
    # A heartbeat from before the last start (seconds ago, still "up")
    # says nothing about the process that runs now.
    started = _started(state, 'nova-compute' + host.suffix)

    def compute_up():
        found = list(conn.compute.services(binary='nova-compute',
                                           host=host.name))
        # Forced down (after an evacuation) it reports all the same; Nova
        # forces it up only once it has cleaned up after the evacuation.
        return [s for s in found if (s.state == 'up' or s.is_forced_down)
                and s.status == 'enabled' and _since(s.updated_at, started)]
    wait_for('nova-compute on %s to report' % host.name, compute_up, 180)


def wait_for_agent(conn, host, state):
    started = _started(state, 'neutron-openvswitch-agent' + host.suffix)
    wait_for('the Open vSwitch agent on %s' % host.name,
             _agent_alive(conn, host.name, 'Open vSwitch agent', started),
             180, 2)


def wait_for_network_node(conn, cfg, state):
    """The DHCP, metadata and L3 agents: host 1's only, as a network
    node's."""
    agents = {'DHCP agent': 'neutron-dhcp-agent',
              'Metadata agent': 'neutron-metadata-agent',
              'L3 agent': 'neutron-l3-agent'}
    for agent_type, name in agents.items():
        wait_for('the %s on %s' % (agent_type, cfg['host']),
                 _agent_alive(conn, cfg['host'], agent_type,
                              _started(state, name)), 180, 2)


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


def quotas(conn):
    """The quotas of clouds.yaml's project (admin: where users of this
    cloud boot) from devstack/pydock_config.py."""
    wanted = dict(pydock_config.PROJECT_QUOTAS)
    project = conn.current_project_id
    conn.set_compute_quotas(project, **{
        key: wanted[key] for key in ('instances', 'cores', 'ram')})
    conn.set_network_quotas(project, port=wanted['ports'])
    say('quotas of project admin: %s' % ', '.join(
        '%s %s' % row for row in pydock_config.PROJECT_QUOTAS))


def build_archive(path, name, command, extra_files=()):
    """A busybox docker image built locally, as a `docker save` archive."""
    import docker  # noqa: PLC0415 - devstack's phase alone needs it

    api = docker.APIClient(version='auto')
    ref = busybox_image.import_image(api, 'pydock-cloud/' + name, 'latest',
                                     command, extra_files)
    busybox_image.save_archive(api, ref, path)
    return path


def images(conn):
    """The busybox image, and busybox-ssh (busybox plus dropbear)."""
    image(conn, IMAGE_NAME, IMAGE_CMD)
    image(conn, SSH_IMAGE_NAME, SSH_IMAGE_CMD, dropbear_files.files)


def image(conn, name, command, extra_files=lambda: ()):
    recipe = _recipe(command)
    found = [i for i in conn.image.images(name=name)
             if i.status == 'active'
             and i.properties.get('pydock_recipe') == recipe]
    if found:
        say('image %s present (%s)' % (name, found[0].id))
        return
    for stale in conn.image.images(name=name):
        conn.image.delete_image(stale)
    with tempfile.TemporaryDirectory() as tmp:
        path = build_archive(os.path.join(tmp, name + '.tar'), name,
                             command, extra_files())
        size = os.path.getsize(path)
        with open(path, 'rb') as data:
            img = conn.image.create_image(
                name=name, container_format='docker',
                disk_format='raw', visibility='public', data=data,
                validate_checksum=False, pydock_recipe=recipe)

    def active():
        current = conn.image.get_image(img.id)
        return current if current.status == 'active' else None
    img = wait_for('image %s to become active' % name, active, 120)
    say('image %s uploaded (%d KB docker archive, container_format docker, '
        'store %s)' % (name, size // 1024,
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
    if phase == 'image':  # devstack's plugin: the images alone
        images(conn)
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
        quotas(conn)
        images(conn)
        network(conn, cfg)
    else:
        raise SystemExit('unknown phase %s' % phase)


if __name__ == '__main__':
    main()
