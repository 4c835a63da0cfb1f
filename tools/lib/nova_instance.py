"""Nova ``Instance`` objects built in memory, for running the driver
outside nova-compute (``tools/bench-driver``): every field set, so that
nothing is lazy-loaded from a database there is not.
"""
from nova import objects
from nova.objects import fields

# What nova-compute does at start (Nova's test harness does it on import).
objects.register_all()

#: Values for fields that are neither nullable nor defaulted.
REQUIRED = {'id': 1, 'deleted': False, 'user_id': 'pydock',
            'project_id': 'pydock', 'metadata': {}, 'system_metadata': {},
            'root_gb': 0, 'ephemeral_gb': 0}


def instance(context, flavor, **values):
    """An Instance of ``flavor`` with ``values``; the rest defaults."""
    inst = objects.Instance(context, **dict(REQUIRED, **values))
    inst.flavor = flavor
    inst.vcpus, inst.memory_mb = flavor.vcpus, flavor.memory_mb
    inst.instance_type_id = flavor.id
    inst.keypairs = objects.KeyPairList(objects=[])
    inst.tags = objects.TagList()
    for name, field in objects.Instance.fields.items():
        if name in inst:
            continue
        if field.nullable:
            setattr(inst, name, None)
        elif field.default != fields.UnspecifiedDefault:
            setattr(inst, name, field.default)
    inst.obj_reset_changes(recursive=True)
    return inst
