"""The ``pydock:`` flavor extra specs as a Glance metadata definitions
namespace, so that Horizon's Admin -> Flavors -> Update Metadata lists
them with their descriptions and allowed values.

Made from :data:`nova_pydock.extra_specs.VALIDATORS`, the same table Nova's
API validates with; ``python -m nova_pydock.metadefs`` prints the JSON that
``etc/metadefs/pydock-flavor.json`` holds (a unit test checks it is
current). Load it with ``glance-manage db_load_metadefs etc/metadefs``
(tools/cloud does).
"""
import json

from nova_pydock import extra_specs

NAMESPACE = 'OS::Compute::PyDock'
_TYPES = {int: 'integer', bool: 'boolean', str: 'string'}


def _property(validator):
    value = validator.value
    prop = {
        'title': validator.name.split(':', 1)[1].replace('_', ' '),
        'description': '%s %s' % (validator.description,
                                  value['description']),
        'type': _TYPES[value['type']],
    }
    if 'min' in value:
        prop['minimum'] = value['min']
    if 'max' in value:
        prop['maximum'] = value['max']
    return prop


def namespace():
    """The namespace document, as glance-manage loads it."""
    prefix = extra_specs.NAMESPACE + ':'
    return {
        'namespace': NAMESPACE,
        'display_name': 'nova-pydock containers',
        'description': ('Flavor extra specs of the nova-pydock virt driver '
                        '(instances as containers). Nova\'s API validates '
                        'them; other drivers ignore them.'),
        'visibility': 'public',
        'protected': True,
        'resource_type_associations': [
            {'name': 'OS::Nova::Flavor', 'prefix': prefix}],
        'properties': {
            v.name[len(prefix):]: _property(v)
            for v in extra_specs.VALIDATORS},
    }


def render():
    return json.dumps(namespace(), indent=4, sort_keys=True) + '\n'


if __name__ == '__main__':
    print(render(), end='')
