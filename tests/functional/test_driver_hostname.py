"""Nova hostnames the kernel cannot take, on the real engine."""
from nova.compute import power_state

from tests.functional import driver_base

#: Tempest's FQDN hostname (microversion 2.94): 78 characters, more than
#: the kernel's 64.
LONG_FQDN = 'x' * 52 + '-guest-test.domaintest.com'


class TestHostname(driver_base.DriverTestCase):

    def spawn_named(self, hostname):
        instance = self.instance()
        instance.hostname = hostname
        return self.spawn(instance)

    def hostname_facts(self, instance):
        code, output = self.exec_in(
            instance, 'sh', '-c', 'hostname; hostname -f; cat /etc/hosts')
        self.assertEqual(0, code, output)
        short, full, *hosts = output.decode().splitlines()
        return short, full, hosts

    def test_long_fqdn_builds_with_its_first_label(self):
        instance = self.spawn_named(LONG_FQDN)
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(instance).state)
        short, full, hosts = self.hostname_facts(instance)
        self.assertEqual('x' * 52 + '-guest-test', short)
        self.assertEqual(LONG_FQDN, full)
        self.assertIn('127.0.1.1\t%s %s' % (LONG_FQDN, short), hosts)

    def test_first_label_cut_to_63(self):
        instance = self.spawn_named('a' * 80 + '.example')
        short, full, _ = self.hostname_facts(instance)
        self.assertEqual('a' * 63, short)
        self.assertEqual('a' * 80 + '.example', full)

    def test_short_name_is_kept_as_is(self):
        instance = self.spawn_named('web-1')
        short, full, hosts = self.hostname_facts(instance)
        self.assertEqual(('web-1', 'web-1'), (short, full))
        self.assertIn('127.0.1.1\tweb-1', hosts)
