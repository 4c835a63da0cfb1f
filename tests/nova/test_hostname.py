"""FQDN hostnames (microversion 2.94) through Nova's API, on the engine."""
import uuid

from tests.nova import base

#: Longer than the kernel's 64 characters, as Tempest's FQDN test uses.
LONG_FQDN = 'x' * 52 + '-guest-test.domaintest.com'


class TestFqdnHostname(base.PyDockTestCase):

    def boot_named(self, hostname):
        image = self.service_image('hostname')
        flavor = self.container_flavor()
        server = self.api.post_server({'server': {
            'name': 'srv-%s' % uuid.uuid4().hex[:8], 'hostname': hostname,
            'imageRef': image['id'], 'flavorRef': flavor,
            'networks': 'none'}})
        self.addCleanup(self._delete_quietly, server['id'])
        return self.wait_for(server, 'ACTIVE')

    def test_long_fqdn_server_builds_and_knows_its_full_name(self):
        server = self.boot_named(LONG_FQDN)
        # Nova keeps the name it was given; the kernel gets the first
        # label, /etc/hosts the full name first.
        self.assertEqual(LONG_FQDN, server['OS-EXT-SRV-ATTR:hostname'])
        self.assertEqual('x' * 52 + '-guest-test',
                         self.inspect(server)['Config']['Hostname'])
        code, output = self.exec_in(server, 'hostname', '-f')
        self.assertEqual(0, code, output)
        self.assertEqual(LONG_FQDN, output.decode().strip())
