"""``pydock:`` validators, as Nova's API loads them from the entry point."""
from nova import exception
from nova.api.validation.extra_specs import validators as nova_validators
import testtools

from nova_pydock import extra_specs

GOOD = {
    'pydock:pids_limit': ['16', '4096', '4194304'],
    'pydock:read_only_root': ['true', 'False', '1', 'no'],
    'pydock:shm_size_mb': ['1', '256'],
    'pydock:cap_add': ['NET_RAW', 'net_raw, CAP_SYS_PTRACE', ''],
    'pydock:ulimit_nofile': ['64', '65536', '1048576'],
}
BAD = {
    'pydock:pids_limit': ['15', '0', '-1', 'many', '1.5', '4194305'],
    'pydock:read_only_root': ['maybe', '2', ''],
    'pydock:shm_size_mb': ['0', '-1', 'big'],
    'pydock:cap_add': ['GOD_MODE', 'NET_RAW,,KILL', 'ALL', 'NET_RAW KILL'],
    'pydock:ulimit_nofile': ['63', '1048577', 'lots'],
}


class TestNovaRegistry(testtools.TestCase):
    """Nova's own registry, filled through ``nova.api.extra_spec_validators``.

    ``validators.validate`` is what the flavor extra specs API calls from
    microversion 2.86; its ValidationError is a 400 Bad Request.
    """

    def test_entry_point_registered_every_knob(self):
        for name in GOOD:
            self.assertIn(name, nova_validators.VALIDATORS)
            self.assertIs(extra_specs.register()[
                [v.name for v in extra_specs.register()].index(name)],
                nova_validators.VALIDATORS[name])
        self.assertIn('pydock', nova_validators.NAMESPACES)

    def test_validation_error_is_a_bad_request(self):
        self.assertEqual(400, exception.ValidationError.code)

    def test_good_values_pass(self):
        for name, values in GOOD.items():
            for value in values:
                nova_validators.validate(name, value)

    def test_bad_values_are_rejected(self):
        for name, values in BAD.items():
            for value in values:
                self.assertRaises(exception.ValidationError,
                                  nova_validators.validate, name, value)

    def test_unknown_pydock_key_is_rejected(self):
        for name in ('pydock:privileged', 'pydock:pids', 'pydock:'):
            error = self.assertRaises(exception.ValidationError,
                                      nova_validators.validate, name, '1')
            self.assertIn(name, error.format_message())

    def test_other_namespaces_unaffected(self):
        nova_validators.validate('quota:cpu_quota', '-1')
        nova_validators.validate('quota:vif_inbound_average', '100')
        nova_validators.validate('mycloud:anything', 'goes')

    def test_cap_add_error_names_the_bad_entry(self):
        error = self.assertRaises(exception.ValidationError,
                                  nova_validators.validate,
                                  'pydock:cap_add', 'NET_RAW,GOD_MODE')
        self.assertIn("'GOD_MODE'", error.format_message())
        self.assertIn('not a Linux capability', error.format_message())


class TestComputeSideValidate(testtools.TestCase):
    """The same checks, without Nova's registry, for the compute host."""

    def test_same_answers_as_the_api(self):
        for name, values in GOOD.items():
            for value in values:
                extra_specs.validate(name, value)
        for name, values in BAD.items():
            for value in values:
                self.assertRaises(exception.ValidationError,
                                  extra_specs.validate, name, value)

    def test_unknown_key_lists_the_known_ones(self):
        error = self.assertRaises(exception.ValidationError,
                                  extra_specs.validate, 'pydock:init', '1')
        self.assertIn('pydock:init', error.format_message())
        self.assertIn('pydock:pids_limit', error.format_message())

    def test_every_validator_documents_itself(self):
        for validator in extra_specs.register():
            self.assertTrue(validator.name.startswith('pydock:'))
            self.assertIn('nova-pydock', validator.description)
            self.assertIn('description', validator.value)
