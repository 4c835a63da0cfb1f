"""The documented security baseline and its capability names."""
import testtools

from nova_pydock import security

# The engine's own default capability set (Docker 20.10 and later).
ENGINE_DEFAULT = {'CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD',
                  'NET_RAW', 'SETGID', 'SETUID', 'SETFCAP', 'SETPCAP',
                  'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE'}


class TestBaseline(testtools.TestCase):

    def test_base_set_is_engine_default_minus_dropped(self):
        self.assertEqual(
            ENGINE_DEFAULT - set(security.DROPPED_FROM_ENGINE_DEFAULT),
            set(security.BASE_CAPABILITIES))
        self.assertLessEqual(set(security.DROPPED_FROM_ENGINE_DEFAULT),
                             ENGINE_DEFAULT)

    def test_dangerous_capabilities_are_not_in_base_set(self):
        for name in ('NET_RAW', 'MKNOD', 'SYS_ADMIN', 'NET_ADMIN',
                     'SYS_PTRACE', 'SYS_MODULE', 'DAC_READ_SEARCH'):
            self.assertNotIn(name, security.BASE_CAPABILITIES)

    def test_every_capability_has_a_documented_reason(self):
        for table in (security.BASE_CAPABILITIES,
                      security.DROPPED_FROM_ENGINE_DEFAULT):
            for name, why in table.items():
                self.assertIn(name, security.KNOWN_CAPABILITIES)
                self.assertGreater(len(why), 20, name)

    def test_profile(self):
        config = security.security_host_config()
        self.assertEqual(['ALL'], config['cap_drop'])
        self.assertEqual(sorted(security.BASE_CAPABILITIES),
                         config['cap_add'])
        self.assertIs(False, config['privileged'])
        self.assertEqual(['no-new-privileges:true'], config['security_opt'])
        self.assertNotIn('seccomp', ' '.join(config['security_opt']))
        self.assertEqual('none', config['network_mode'])

    def test_extra_capabilities_are_added_once(self):
        config = security.security_host_config(['NET_RAW', 'CHOWN'])
        self.assertEqual(sorted(set(security.BASE_CAPABILITIES)
                                | {'NET_RAW'}), config['cap_add'])

    def test_pinned_settings_are_not_shared_between_calls(self):
        first = security.security_host_config()
        first['restart_policy']['Name'] = 'always'
        first['security_opt'].clear()
        second = security.security_host_config()
        self.assertEqual({'Name': 'no'}, second['restart_policy'])
        self.assertEqual(['no-new-privileges:true'], second['security_opt'])


class TestCapabilityNames(testtools.TestCase):

    def test_spellings(self):
        for spelling in ('NET_RAW', 'net_raw', 'CAP_NET_RAW', ' cap_net_raw '):
            self.assertEqual('NET_RAW',
                             security.normalize_capability(spelling))

    def test_unknown(self):
        for spelling in ('', 'ALL', 'CAP_', 'NETRAW', 'root'):
            self.assertIsNone(security.normalize_capability(spelling))

    def test_list(self):
        self.assertEqual(['SYS_PTRACE', 'NET_RAW'],
                         security.parse_capability_list(
                             'sys_ptrace, CAP_NET_RAW,NET_RAW'))
        self.assertEqual([], security.parse_capability_list(' '))

    def test_bad_list_names_the_entry(self):
        for value, bad in (('NET_RAW,,KILL', "''"),
                           ('NET_RAW,EVERYTHING', "'EVERYTHING'"),
                           ('NET_RAW;KILL', "'NET_RAW;KILL'")):
            error = self.assertRaises(ValueError,
                                      security.parse_capability_list, value)
            self.assertIn(bad, str(error))

    def test_unknown_capabilities_for_startup_check(self):
        self.assertEqual([], security.unknown_capabilities(
            ['NET_RAW', 'cap_sys_ptrace']))
        self.assertEqual(['NET-RAW', 'ALL'], security.unknown_capabilities(
            ['NET-RAW', 'SYS_ADMIN', 'ALL']))
