"""Flavor -> engine host config: limits, knobs and what is refused."""
import types

import docker
from nova import exception
from nova import objects
from oslo_config import fixture as config_fixture
import testtools

from nova_pydock import conf as pydock_conf
from nova_pydock import flavor as pydock_flavor
from nova_pydock import security

objects.register_all()

MIB = 1024 * 1024
DISK = '/dev/vdz'


def make_flavor(memory_mb=512, vcpus=2, ephemeral_gb=0, swap=0,
                **extra_specs):
    return objects.Flavor(name='c1.test', memory_mb=memory_mb, vcpus=vcpus,
                          ephemeral_gb=ephemeral_gb, swap=swap,
                          extra_specs=extra_specs)


def make_conf(pids_limit=1024, allowed_cap_add=()):
    return types.SimpleNamespace(pids_limit=pids_limit,
                                 allowed_cap_add=list(allowed_cap_add))


def host_config(memory_mb=512, vcpus=2, conf=None, devices=(DISK,),
                **specs):
    return pydock_flavor.host_config_for(
        make_flavor(memory_mb, vcpus, **specs), conf or make_conf(),
        blkio_devices=devices)


class TestPlainFlavor(testtools.TestCase):
    """A flavor without extra specs: its size and the hardened profile."""

    def setUp(self):
        super().setUp()
        self.config = host_config(memory_mb=512, vcpus=2)

    def test_memory_is_hard_limit_without_swap(self):
        self.assertEqual(512 * MIB, self.config['mem_limit'])
        self.assertEqual(512 * MIB, self.config['memswap_limit'])

    def test_vcpus_are_a_cfs_quota_and_a_weight(self):
        self.assertEqual(100000, self.config['cpu_period'])
        self.assertEqual(200000, self.config['cpu_quota'])
        self.assertEqual(2048, self.config['cpu_shares'])
        self.assertNotIn('nano_cpus', self.config)  # conflicts with quota

    def test_security_profile(self):
        self.assertEqual('none', self.config['network_mode'])
        self.assertIs(False, self.config['privileged'])
        self.assertEqual(['no-new-privileges:true'],
                         self.config['security_opt'])
        self.assertEqual(['ALL'], self.config['cap_drop'])
        self.assertEqual(sorted(security.BASE_CAPABILITIES),
                         self.config['cap_add'])
        self.assertEqual(1024, self.config['pids_limit'])
        self.assertEqual('private', self.config['ipc_mode'])
        self.assertEqual('private', self.config['cgroupns'])
        self.assertEqual({'Name': 'no'}, self.config['restart_policy'])
        self.assertIs(True, self.config['init'])

    def test_nothing_from_the_host_is_shared(self):
        for key in ('binds', 'mounts', 'devices', 'device_cgroup_rules',
                    'volumes_from', 'pid_mode', 'userns_mode', 'uts_mode',
                    'sysctls', 'tmpfs', 'port_bindings', 'links',
                    'device_requests', 'cgroup_parent'):
            self.assertNotIn(key, self.config)

    def test_no_optional_knobs_or_throttles(self):
        for key in ('read_only', 'shm_size', 'ulimits', 'device_read_bps',
                    'device_write_bps', 'device_read_iops',
                    'device_write_iops'):
            self.assertNotIn(key, self.config)

    def test_docker_sdk_accepts_every_keyword(self):
        hc = docker.types.HostConfig(version='1.41', **self.config)
        self.assertEqual(512 * MIB, hc['Memory'])
        self.assertEqual(512 * MIB, hc['MemorySwap'])
        self.assertEqual(200000, hc['CpuQuota'])
        self.assertEqual('none', hc['NetworkMode'])
        self.assertEqual(['ALL'], hc['CapDrop'])
        self.assertEqual('private', hc['CgroupnsMode'])
        self.assertNotIn('Binds', hc)
        self.assertNotIn('Devices', hc)

    def test_each_call_returns_fresh_lists(self):
        self.config['cap_add'].append('SYS_ADMIN')
        self.config['security_opt'].append('seccomp=unconfined')
        again = host_config()
        self.assertNotIn('SYS_ADMIN', again['cap_add'])
        self.assertEqual(['no-new-privileges:true'], again['security_opt'])

    def test_real_option_group(self):
        conf = self.useFixture(config_fixture.Config(pydock_conf.CONF))
        conf.config(group='pydock', pids_limit=300,
                    allowed_cap_add=['net_raw'])
        config = pydock_flavor.host_config_for(
            make_flavor(**{'pydock:cap_add': 'NET_RAW'}),
            pydock_conf.CONF.pydock)
        self.assertEqual(300, config['pids_limit'])
        self.assertIn('NET_RAW', config['cap_add'])

    def test_tiny_memory_is_refused(self):
        error = self.assertRaises(exception.InvalidInput, host_config,
                                  memory_mb=4)
        self.assertIn('memory_mb=4', error.format_message())

    def test_ephemeral_disk_and_swap_are_refused(self):
        for asked, wanted in (({'ephemeral_gb': 1}, 'an ephemeral disk of '
                               '1 GB'),
                              ({'swap': 512}, '512 MB of swap'),
                              ({'ephemeral_gb': 2, 'swap': 64},
                               'an ephemeral disk of 2 GB and 64 MB of '
                               'swap')):
            error = self.assertRaises(
                exception.InvalidInput, pydock_flavor.host_config_for,
                make_flavor(**asked), make_conf(), blkio_devices=(DISK,))
            self.assertIn('flavor c1.test asks for %s' % wanted,
                          error.format_message())

    def test_many_vcpus_keep_weight_in_kernel_range(self):
        config = host_config(vcpus=512)
        self.assertEqual(262144, config['cpu_shares'])
        self.assertEqual(512 * 100000, config['cpu_quota'])


class TestCpuQuotaSpecs(testtools.TestCase):
    """``quota:cpu_*`` mean what they mean to the libvirt driver."""

    def cpu(self, vcpus=2, **specs):
        return pydock_flavor.cpu_limits(vcpus, specs)

    def test_period_override_keeps_vcpus_cpus(self):
        self.assertEqual(
            {'cpu_period': 50000, 'cpu_quota': 100000, 'cpu_shares': 2048},
            self.cpu(**{'quota:cpu_period': '50000'}))

    def test_quota_is_per_vcpu(self):
        # Half a CPU for each of 2 vCPUs: one CPU in all.
        self.assertEqual(
            {'cpu_period': 100000, 'cpu_quota': 100000, 'cpu_shares': 2048},
            self.cpu(**{'quota:cpu_quota': '50000'}))

    def test_quota_with_period(self):
        limits = self.cpu(vcpus=4, **{'quota:cpu_period': '20000',
                                      'quota:cpu_quota': '5000'})
        self.assertEqual(20000, limits['cpu_period'])
        self.assertEqual(20000, limits['cpu_quota'])  # 4 x 1/4 CPU

    def test_quota_above_period_gives_vcpus_cpus(self):
        self.assertEqual(200000, self.cpu(
            **{'quota:cpu_quota': '500000'})['cpu_quota'])

    def test_negative_quota_is_unlimited_per_vcpu(self):
        self.assertEqual(200000, self.cpu(
            **{'quota:cpu_quota': '-1'})['cpu_quota'])

    def test_zero_means_unset(self):
        self.assertEqual(
            {'cpu_period': 100000, 'cpu_quota': 200000, 'cpu_shares': 2048},
            self.cpu(**{'quota:cpu_quota': '0', 'quota:cpu_period': '0',
                        'quota:cpu_shares': '0'}))

    def test_shares_override(self):
        self.assertEqual(512, self.cpu(
            **{'quota:cpu_shares': '512'})['cpu_shares'])

    def test_bad_values_are_refused(self):
        for key, value, text in (
                ('quota:cpu_period', '999', 'between 1000 and 1000000'),
                ('quota:cpu_period', '1000001', 'between 1000'),
                ('quota:cpu_period', '-5', 'between 1000'),
                ('quota:cpu_quota', '999', 'at least 1000'),
                ('quota:cpu_shares', '1', 'between 2 and 262144'),
                ('quota:cpu_shares', '262145', 'between 2'),
                ('quota:cpu_shares', '-3', 'between 2'),
                ('quota:cpu_quota', 'half', 'not an integer'),
                ('quota:cpu_period', '1.5', 'not an integer')):
            error = self.assertRaises(exception.InvalidInput, self.cpu,
                                      **{key: value})
            self.assertIn(key, error.format_message())
            self.assertIn(text, error.format_message())

    def test_through_host_config(self):
        config = host_config(vcpus=1, **{'quota:cpu_quota': '25000',
                                         'quota:cpu_shares': '100'})
        self.assertEqual(25000, config['cpu_quota'])
        self.assertEqual(100, config['cpu_shares'])


class TestDiskQuotaSpecs(testtools.TestCase):

    def test_read_and_write_limits_on_every_device(self):
        throttles = pydock_flavor.disk_throttles(
            {'quota:disk_read_bytes_sec': '1048576',
             'quota:disk_write_iops_sec': '200'}, ['/dev/vda', '/dev/vdb'])
        self.assertEqual(
            {'device_read_bps': [{'Path': '/dev/vda', 'Rate': 1048576},
                                 {'Path': '/dev/vdb', 'Rate': 1048576}],
             'device_write_iops': [{'Path': '/dev/vda', 'Rate': 200},
                                   {'Path': '/dev/vdb', 'Rate': 200}]},
            throttles)

    def test_total_bounds_each_direction(self):
        throttles = pydock_flavor.disk_throttles(
            {'quota:disk_total_iops_sec': '300'}, [DISK])
        self.assertEqual(
            {'device_read_iops': [{'Path': DISK, 'Rate': 300}],
             'device_write_iops': [{'Path': DISK, 'Rate': 300}]},
            throttles)

    def test_smaller_of_total_and_own_limit_wins(self):
        throttles = pydock_flavor.disk_throttles(
            {'quota:disk_total_bytes_sec': '5000000',
             'quota:disk_read_bytes_sec': '1000000',
             'quota:disk_write_bytes_sec': '9000000'}, [DISK])
        self.assertEqual([{'Path': DISK, 'Rate': 1000000}],
                         throttles['device_read_bps'])
        self.assertEqual([{'Path': DISK, 'Rate': 5000000}],
                         throttles['device_write_bps'])

    def test_zero_is_unlimited(self):
        self.assertEqual({}, pydock_flavor.disk_throttles(
            {'quota:disk_read_bytes_sec': '0',
             'quota:disk_total_iops_sec': '0'}, []))

    def test_no_device_is_a_host_failure(self):
        error = self.assertRaises(
            exception.InstanceDeployFailure, pydock_flavor.disk_throttles,
            {'quota:disk_read_iops_sec': '100'}, [])
        self.assertIn('blkio_devices', error.format_message())

    def test_bad_values_are_refused(self):
        for value in ('-1', 'fast', ''):
            error = self.assertRaises(
                exception.InvalidInput, pydock_flavor.disk_throttles,
                {'quota:disk_write_bytes_sec': value}, [DISK])
            self.assertIn('quota:disk_write_bytes_sec',
                          error.format_message())

    def test_through_host_config(self):
        config = host_config(**{'quota:disk_read_bytes_sec': '2048'})
        self.assertEqual([{'Path': DISK, 'Rate': 2048}],
                         config['device_read_bps'])
        hc = docker.types.HostConfig(version='1.41', **config)
        self.assertEqual([{'Path': DISK, 'Rate': 2048}],
                         hc['BlkioDeviceReadBps'])


class TestOtherNamespaces(testtools.TestCase):

    def test_vif_and_foreign_specs_are_ignored_not_refused(self):
        config = host_config(**{'quota:vif_inbound_average': '1000',
                                'quota:vif_outbound_peak': 'x',
                                'hw:cpu_policy': 'dedicated',
                                'trait:CUSTOM_X': 'required'})
        self.assertEqual(host_config(), config)


class TestPydockKnobs(testtools.TestCase):

    def test_pids_limit_may_lower(self):
        config = host_config(conf=make_conf(pids_limit=500),
                             **{'pydock:pids_limit': '64'})
        self.assertEqual(64, config['pids_limit'])

    def test_pids_limit_may_equal_host_limit(self):
        config = host_config(conf=make_conf(pids_limit=500),
                             **{'pydock:pids_limit': '500'})
        self.assertEqual(500, config['pids_limit'])

    def test_pids_limit_may_not_raise(self):
        error = self.assertRaises(
            exception.InstanceDeployFailure, host_config,
            conf=make_conf(pids_limit=500), **{'pydock:pids_limit': '501'})
        self.assertIn('pydock:pids_limit=501', error.format_message())
        self.assertIn('pids_limit=500', error.format_message())

    def test_read_only_root(self):
        for value, expected in (('true', True), ('True', True), ('1', True),
                                ('false', False), ('no', False)):
            config = host_config(**{'pydock:read_only_root': value})
            self.assertIs(expected, config['read_only'], value)
            self.assertEqual(expected, bool(config.get('tmpfs')))

    def test_shm_size(self):
        config = host_config(memory_mb=256, **{'pydock:shm_size_mb': '128'})
        self.assertEqual(128 * MIB, config['shm_size'])

    def test_shm_larger_than_memory_is_refused(self):
        error = self.assertRaises(exception.InvalidInput, host_config,
                                  memory_mb=256,
                                  **{'pydock:shm_size_mb': '257'})
        self.assertIn('memory_mb=256', error.format_message())

    def test_ulimit_nofile(self):
        config = host_config(**{'pydock:ulimit_nofile': '4096'})
        self.assertEqual([{'name': 'nofile', 'soft': 4096, 'hard': 4096}],
                         config['ulimits'])
        hc = docker.types.HostConfig(version='1.41', **config)
        self.assertEqual([{'Name': 'nofile', 'Soft': 4096, 'Hard': 4096}],
                         hc['Ulimits'])

    def test_cap_add_allowed_by_operator(self):
        config = host_config(
            conf=make_conf(allowed_cap_add=['CAP_NET_RAW', 'sys_ptrace']),
            **{'pydock:cap_add': 'net_raw, SYS_PTRACE'})
        self.assertEqual(
            sorted(set(security.BASE_CAPABILITIES) | {'NET_RAW',
                                                      'SYS_PTRACE'}),
            config['cap_add'])
        self.assertEqual(['ALL'], config['cap_drop'])

    def test_cap_add_not_allowed_is_refused(self):
        error = self.assertRaises(
            exception.InstanceDeployFailure, host_config,
            conf=make_conf(allowed_cap_add=['NET_RAW']),
            **{'pydock:cap_add': 'NET_RAW,SYS_ADMIN'})
        self.assertIn('SYS_ADMIN', error.format_message())
        self.assertNotIn('NET_RAW,', error.format_message())

    def test_cap_add_with_empty_allow_list(self):
        error = self.assertRaises(
            exception.InstanceDeployFailure, host_config,
            **{'pydock:cap_add': 'MKNOD'})
        self.assertIn('allowed_cap_add = empty', error.format_message())

    def test_cap_add_of_base_capability_is_no_loosening(self):
        config = host_config(**{'pydock:cap_add': 'CHOWN'})
        self.assertEqual(sorted(security.BASE_CAPABILITIES),
                         config['cap_add'])

    def test_bad_values_abort_the_build(self):
        for key, value in (('pydock:pids_limit', 'many'),
                           ('pydock:pids_limit', '8'),
                           ('pydock:read_only_root', 'maybe'),
                           ('pydock:shm_size_mb', '0'),
                           ('pydock:ulimit_nofile', '10'),
                           ('pydock:cap_add', 'NET_RAW,,KILL'),
                           ('pydock:cap_add', 'GOD_MODE'),
                           ('pydock:privileged', 'true')):
            error = self.assertRaises(exception.InvalidInput, host_config,
                                      conf=make_conf(allowed_cap_add=['NET_RAW']),
                                      **{key: value})
            self.assertIn(key, error.format_message())


class TestResizeInPlace(testtools.TestCase):
    """What a resize can change in an existing container."""

    def test_size_changes_in_place(self):
        old = host_config(memory_mb=256, vcpus=1)
        new = host_config(memory_mb=1024, vcpus=2)
        self.assertEqual([], pydock_flavor.fixed_at_creation(old, new))
        self.assertEqual({'mem_limit': 1024 * MIB,
                          'memswap_limit': 1024 * MIB,
                          'cpu_period': 100000, 'cpu_quota': 200000,
                          'cpu_shares': 2048},
                         pydock_flavor.in_place_limits(new))

    def test_knobs_fixed_at_creation_are_named(self):
        old = host_config()
        new = host_config(**{'pydock:read_only_root': 'true',
                             'pydock:pids_limit': '64',
                             'quota:disk_read_bytes_sec': '1048576'})
        self.assertEqual(['device_read_bps', 'pids_limit', 'read_only',
                          'tmpfs'],
                         pydock_flavor.fixed_at_creation(old, new))

    def test_same_knobs_on_both_sides_are_fine(self):
        specs = {'pydock:shm_size_mb': '32', 'pydock:ulimit_nofile': '4096'}
        self.assertEqual([], pydock_flavor.fixed_at_creation(
            host_config(memory_mb=128, **specs),
            host_config(memory_mb=256, **specs)))
