"""The Glance metadefs namespace of the ``pydock:`` extra specs agrees with
Nova's validators (nova_pydock.extra_specs), and the committed JSON is
current, so the dashboard and the API cannot drift apart."""
import json
import os

from nova import exception
import testtools

from nova_pydock import extra_specs
from nova_pydock import metadefs

JSON = os.path.join(os.path.dirname(__file__), '..', '..', 'etc',
                    'metadefs', 'pydock-flavor.json')


class MetadefsTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        with open(JSON) as f:
            self.committed = json.load(f)
        self.props = self.committed['properties']

    def test_committed_json_is_current(self):
        with open(JSON) as f:
            self.assertEqual(metadefs.render(), f.read(),
                             'run: python -m nova_pydock.metadefs > '
                             'etc/metadefs/pydock-flavor.json')

    def test_every_validator_is_listed_for_flavors(self):
        assoc = self.committed['resource_type_associations']
        self.assertEqual([{'name': 'OS::Nova::Flavor', 'prefix': 'pydock:'}],
                         assoc)
        self.assertEqual(sorted(v.name for v in extra_specs.VALIDATORS),
                         sorted('pydock:' + k for k in self.props))

    def test_bounds_are_the_validators_bounds(self):
        for key, prop in self.props.items():
            name = 'pydock:' + key
            if 'minimum' in prop:
                extra_specs.validate(name, str(prop['minimum']))
                self.assertRaises(exception.ValidationError,
                                  extra_specs.validate, name,
                                  str(prop['minimum'] - 1))
            if 'maximum' in prop:
                extra_specs.validate(name, str(prop['maximum']))
                self.assertRaises(exception.ValidationError,
                                  extra_specs.validate, name,
                                  str(prop['maximum'] + 1))

    def test_types_are_the_validators_types(self):
        samples = {'integer': ('64', 'many'), 'boolean': ('true', 'maybe'),
                   'string': ('NET_RAW', 'NOT_A_CAPABILITY')}
        for key, prop in self.props.items():
            good, bad = samples[prop['type']]
            extra_specs.validate('pydock:' + key, good)
            self.assertRaises(exception.ValidationError,
                              extra_specs.validate, 'pydock:' + key, bad)
