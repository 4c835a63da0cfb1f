"""tests/tempest/tempest_conf.py: tempest.conf from a cloud's settings."""
import unittest

from tests.tempest import tempest_conf

AUTH = {'auth': {'auth_url': 'http://127.0.0.1:5300/v3/',
                 'username': 'admin', 'password': 's3cret',
                 'project_name': 'admin', 'user_domain_name': 'Default'},
        'region_name': 'RegionOne'}
RESOURCES = {'image': 'img-1', 'flavor': 'f-1', 'flavor_alt': 'f-2',
             'network': 'demo', 'network_extensions': ['binding', 'quotas']}
NOVA_CONF = """
[api]
enable_instance_password = false
[serial_console]
enabled = true
[filter_scheduler]
enabled_filters = ComputeFilter, ImagePropertiesFilter
[oslo_policy]
enforce_scope = true
"""


def build(confs=None):
    return tempest_conf.build(AUTH, RESOURCES,
                              confs if confs is not None
                              else {'nova': NOVA_CONF}, '/w')


class TestBuild(unittest.TestCase):

    def test_every_feature_flag_written_as_the_table_says(self):
        features = build()['compute-feature-enabled']
        for name, (value, reason) in tempest_conf.COMPUTE_FEATURES.items():
            self.assertEqual('true' if value else 'false', features[name])
            self.assertTrue(reason)
        self.assertEqual('false', features['live_migration'])
        self.assertEqual('true', features['resize'])
        self.assertEqual('true', features['config_drive'])
        self.assertEqual('false', features['cold_migration'])

    def test_serial_console_only_where_nova_serves_it(self):
        self.assertEqual('true', build()['compute-feature-enabled'][
            'serial_console'])
        off = NOVA_CONF.replace('enabled = true', 'enabled = false')
        self.assertEqual('false', build({'nova': off})[
            'compute-feature-enabled']['serial_console'])

    def test_cloud_settings_taken(self):
        conf = build()
        self.assertEqual('http://127.0.0.1:5300/v3',
                         conf['identity']['uri_v3'])
        self.assertEqual('s3cret', conf['auth']['admin_password'])
        self.assertEqual('true', conf['auth']['use_dynamic_credentials'])
        self.assertEqual(('img-1', 'f-1', 'f-2'), (
            conf['compute']['image_ref'], conf['compute']['flavor_ref'],
            conf['compute']['flavor_ref_alt']))
        self.assertEqual('binding,quotas',
                         conf['network-feature-enabled']['api_extensions'])

    def test_validation_logs_in_over_the_fixed_network(self):
        validation = build()['validation']
        self.assertEqual('true', validation['run_validation'])
        self.assertEqual('fixed', validation['connect_method'])
        self.assertEqual('demo', validation['network_for_ssh'])
        self.assertEqual('root', validation['image_ssh_user'])
        self.assertEqual('ecdsa', validation['ssh_key_type'])

    def test_nova_conf_read(self):
        features = build()['compute-feature-enabled']
        self.assertEqual('false', features['enable_instance_password'])
        self.assertEqual('ComputeFilter,ImagePropertiesFilter',
                         features['scheduler_enabled_filters'])
        self.assertEqual('true', build()['enforce_scope']['nova'])

    def test_nova_defaults_without_a_nova_conf(self):
        conf = build({'neutron': '[oslo_policy]\nenforce_scope = false\n'})
        features = conf['compute-feature-enabled']
        self.assertEqual('true', features['enable_instance_password'])
        self.assertEqual('false', features['serial_console'])
        self.assertEqual(','.join(tempest_conf.NOVA_DEFAULT_FILTERS),
                         features['scheduler_enabled_filters'])
        self.assertEqual('false', conf['enforce_scope']['neutron'])
        self.assertEqual('true', conf['enforce_scope']['glance'])
