import types
import unittest

from nova_pydock import hostname


def instance(name, uuid='4a1c1a9e-0000-4000-8000-000000000001'):
    return types.SimpleNamespace(hostname=name, uuid=uuid)


class TestShortName(unittest.TestCase):

    def test_plain_name_unchanged(self):
        self.assertEqual('web-1', hostname.short_name(instance('web-1')))

    def test_fqdn_gives_first_label(self):
        self.assertEqual('guest', hostname.short_name(
            instance('guest.domain.example.com')))

    def test_long_label_cut_to_63_without_trailing_dash(self):
        name = 'a' * 62 + '-b' + 'c' * 20
        self.assertEqual('a' * 62, hostname.short_name(instance(name)))

    def test_no_hostname_gives_uuid(self):
        self.assertEqual(instance(None).uuid,
                         hostname.short_name(instance(None)))
        self.assertEqual(instance('.').uuid,
                         hostname.short_name(instance('.')))


class TestExtraHosts(unittest.TestCase):

    def test_fqdn_listed_first_then_short(self):
        self.assertEqual(['guest.example.com guest:127.0.1.1'],
                         hostname.extra_hosts(instance('guest.example.com')))

    def test_trailing_dot_dropped(self):
        self.assertEqual(['guest.example guest:127.0.1.1'],
                         hostname.extra_hosts(instance('guest.example.')))

    def test_plain_name_listed_once(self):
        self.assertEqual(['web-1:127.0.1.1'],
                         hostname.extra_hosts(instance('web-1')))

    def test_no_hostname_lists_the_uuid(self):
        self.assertEqual([instance(None).uuid + ':127.0.1.1'],
                         hostname.extra_hosts(instance(None)))
