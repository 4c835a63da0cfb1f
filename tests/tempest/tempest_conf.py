"""tempest.conf for a tools/cloud cloud, from the cloud's own settings.

Pure logic (no network, no Tempest import): ``build`` takes what
``run.py`` read from the cloud (clouds.yaml, the services' configuration
and the resources ``tools/cloud up`` provisioned) and returns the
configuration as a ``ConfigParser``.

``COMPUTE_FEATURES`` is the one place that says which of Tempest's
``[compute-feature-enabled]`` flags this driver honours; each value is
what the README's support matrix says today. A branch that adds a
capability flips its flag here. Flags that must match a nova.conf option
(``serial_console``, ``enable_instance_password``) are read from the
cloud's nova.conf as well.
"""
import configparser

#: [compute-feature-enabled] flag: (value, support matrix row / why).
COMPUTE_FEATURES = {
    'resize': (True, 'resize: works on the server\'s own host'),
    'cold_migration': (False, 'cold migration, resize to another host: the '
                              'driver moves servers between engines, but '
                              'tools/cloud runs one compute host and '
                              'Tempest needs two'),
    'live_migration': (False, 'live migration: no (CRIU does not run here)'),
    'live_migrate_back_and_forth': (False, 'live migration: no'),
    'block_migration_for_live_migration': (False, 'live migration: no'),
    'volume_backed_live_migration': (False, 'live migration: no'),
    'shelve_migrate': (False, 'cold migration: an unshelve on another host '
                              'needs a second compute host'),
    'can_migrate_between_any_hosts': (False, 'cold migration: one compute '
                                             'host in tools/cloud'),
    'console_output': (True, 'get_console_output: works'),
    'vnc_console': (False, 'consoles (VNC, SPICE, RDP, MKS): not '
                           'applicable, a container has no display'),
    'spice_console': (False, 'consoles (VNC, SPICE, RDP, MKS): not '
                             'applicable, a container has no display'),
    'serial_console': (True, 'get_serial_console: works with '
                             '[serial_console] enabled (read from nova.conf)'),
    'config_drive': (True, 'config drive: works (a read-only directory)'),
    'rescue': (False, 'rescue: not applicable'),
    'stable_rescue': (False, 'rescue: not applicable'),
    'change_password': (False, 'set_admin_password: not applicable (no '
                               'guest agent in a container)'),
    'personality': (True, 'personality (injected_files): works'),
    'pause': (True, 'pause, unpause: works'),
    'suspend': (True, 'suspend, resume: works'),
    'shelve': (True, 'shelve is snapshot + destroy, unshelve a spawn of '
                     'the snapshot: both work'),
    'snapshot': (True, 'snapshot: works'),
    'interface_attach': (True, 'attach_interface, detach_interface: '
                               'works'),
    'disk_config': (False, 'a container has no disk to partition: '
                           'OS-DCF:diskConfig cannot apply'),
    'metadata_service': (True, 'metadata service (169.254.169.254): works '
                               'with Neutron\'s DHCP agent, which '
                               'tools/cloud runs'),
    'attach_encrypted_volume': (False, 'volumes: not yet'),
    'swap_volume': (False, 'volumes: not yet'),
    'volume_multiattach': (False, 'volumes: not yet'),
    'ide_bus': (False, 'volumes: not yet (no disk buses)'),
    'hostname_fqdn_sanitization': (True, 'Nova 34 sanitizes FQDN '
                                         'hostnames (2.94)'),
}

#: Nova's own default of [filter_scheduler] enabled_filters.
NOVA_DEFAULT_FILTERS = [
    'ComputeFilter', 'ComputeCapabilitiesFilter', 'ImagePropertiesFilter',
    'ServerGroupAntiAffinityFilter', 'ServerGroupAffinityFilter']


def _bool(value):
    return 'true' if value else 'false'


def _ini(text):
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read_string(text or '')
    return parser


def _conf_bool(conf_text, section, key, default):
    value = _ini(conf_text).get(section, key, fallback=default)
    return value.strip().lower() in ('true', '1', 'yes', 'on')


def enforce_scope(conf_text):
    """Whether a service's configuration enforces scope (True unless it
    says otherwise: the default of every service of this release)."""
    return _conf_bool(conf_text, 'oslo_policy', 'enforce_scope', 'true')


def instance_password(nova_conf_text):
    """Whether nova-api returns an ``adminPass`` (Nova's default: yes)."""
    return _conf_bool(nova_conf_text, 'api', 'enable_instance_password',
                      'true')


def serial_console(nova_conf_text):
    """Whether the cloud serves serial consoles (Nova's default: no)."""
    return _conf_bool(nova_conf_text, 'serial_console', 'enabled', 'false')


def scheduler_filters(nova_conf_text):
    value = _ini(nova_conf_text).get('filter_scheduler', 'enabled_filters',
                                     fallback='')
    filters = [f.strip() for f in value.split(',') if f.strip()]
    return filters or list(NOVA_DEFAULT_FILTERS)


def compute_features(nova_conf_text):
    """[compute-feature-enabled]: the driver's table, narrowed by what the
    cloud's nova.conf turns on (Tempest wants both to agree)."""
    features = {name: value
                for name, (value, _) in COMPUTE_FEATURES.items()}
    features['serial_console'] = (features['serial_console']
                                  and serial_console(nova_conf_text))
    features = {name: _bool(value) for name, value in features.items()}
    features['enable_instance_password'] = _bool(
        instance_password(nova_conf_text))
    features['scheduler_enabled_filters'] = ','.join(
        scheduler_filters(nova_conf_text))
    return features


def _credentials(auth, workspace):
    creds = auth['auth']
    return {
        'DEFAULT': {
            'log_dir': workspace + '/logs',
            'log_file': 'tempest.log',
        },
        'auth': {
            'use_dynamic_credentials': 'true',
            'admin_username': creds['username'],
            'admin_password': creds['password'],
            'admin_project_name': creds['project_name'],
            'admin_domain_name': creds.get('user_domain_name', 'Default'),
            # Projects boot on the shared provider network, which the
            # host reaches: Tempest's isolated networks sit behind a
            # router with no external network (none in the cloud), out
            # of the host's reach. Tests that create project networks
            # (multi-NIC) make VXLAN networks of their own.
            'create_isolated_networks': 'false',
        },
        'identity': {
            'uri_v3': creds['auth_url'].rstrip('/'),
            'auth_version': 'v3',
            'region': auth.get('region_name', 'RegionOne'),
        },
        'identity-feature-enabled': {'api_v2': 'false'},
    }


def _compute(resources, region, nova_conf_text):
    return {
        'compute': {
            'image_ref': resources['image'],
            'image_ref_alt': resources['image'],
            'flavor_ref': resources['flavor'],
            'flavor_ref_alt': resources['flavor_alt'],
            'fixed_network_name': resources['network'],
            'region': region,
            'min_compute_nodes': '1',
            'max_microversion': 'latest',
            # Two cores shared with other clouds: builds can queue.
            'build_timeout': '400',
        },
        'compute-feature-enabled': compute_features(nova_conf_text),
        'image': {
            'region': region,
            'container_formats': 'docker,bare',
            'disk_formats': 'raw',
        },
        'placement': {'region': region},
    }


def _network(resources, region):
    return {
        'network': {
            'region': region,
            'project_networks_reachable': 'false',
            'public_network_id': '',
            'floating_network_name': '',
        },
        'network-feature-enabled': {
            'floating_ips': 'false',
            'api_extensions': ','.join(resources['network_extensions']),
        },
    }


def _validation(resources):
    """Tempest logs in to its servers: the busybox-ssh image, root with the
    key pair's key, over the fixed address on the shared network."""
    return {
        'run_validation': 'true',
        # No external network: no floating IPs. The host reaches the
        # servers on the demo network directly (its gateway is the host).
        'connect_method': 'fixed',
        'network_for_ssh': resources['network'],
        'image_ssh_user': 'root',
        'image_alt_ssh_user': 'root',
        # Tempest's default: it makes an ECDSA (P-384) key itself and
        # imports the public key, which every microversion accepts (Nova
        # generates only RSA keys, and none after 2.92); dropbear takes it.
        'ssh_key_type': 'ecdsa',
    }


def build(auth, resources, service_confs, workspace):
    """The tempest.conf of one cloud.

    ``auth``: the cloud's entry of clouds.yaml
    (``auth`` and ``region_name``); ``resources``: ids of what the cloud
    provisioned (``image``: one Tempest can log in to, ``flavor``,
    ``flavor_alt``, ``network``, ``network_extensions``);
    ``service_confs``: service name -> text of its configuration file;
    ``workspace``: Tempest's working directory.
    """
    region = auth.get('region_name', 'RegionOne')
    conf = configparser.ConfigParser(interpolation=None)
    conf.optionxform = str
    conf.read_dict(_credentials(auth, workspace))
    conf.read_dict(_compute(resources, region, service_confs.get('nova')))
    conf.read_dict(_network(resources, region))
    conf.read_dict({
        'service_available': {
            'nova': 'true', 'glance': 'true', 'neutron': 'true',
            'cinder': 'false', 'swift': 'false', 'horizon': 'false',
        },
        'validation': _validation(resources),
        'enforce_scope': {
            name: _bool(enforce_scope(service_confs.get(name)))
            for name in ('nova', 'neutron', 'glance', 'keystone',
                         'placement')},
    })
    return conf
