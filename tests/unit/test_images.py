"""Pruning the image cache while others change the same engine.

Pure logic around the engine's answers, so the engine is a small fake
here; tests/functional/test_driver_lifecycle prunes on the real engine.
"""
import testtools

from nova_pydock import engine as engine_client
from nova_pydock import images

OLD = '2020-01-01T00:00:00Z'


class _Engine:
    """An engine whose images can vanish between listing and inspection,
    as when another compute service on it prunes at the same time."""

    def __init__(self, tags, vanishing=(), in_use=()):
        self.tags = list(tags)
        self.vanishing = set(vanishing)
        self.in_use = set(in_use)
        self.removed = []

    def list_images(self, reference):
        return [{'RepoTags': [tag]} for tag in self.tags]

    def inspect_image(self, ref):
        if ref in self.vanishing:
            raise engine_client.ImageNotInEngine(ref=ref)
        return {'Metadata': {'LastTagTime': OLD}}

    def remove_image(self, ref):
        if ref in self.in_use:
            raise engine_client.ContainerConflict(
                name=ref, call='remove_image', reason='in use')
        self.removed.append(ref)


class TestPrune(testtools.TestCase):

    def test_image_gone_since_the_listing_is_passed_by(self):
        engine = _Engine(['pydock-glance:a', 'pydock-glance:b',
                          'pydock-glance:c'],
                         vanishing={'pydock-glance:b'},
                         in_use={'pydock-glance:c'})
        cache = images.ImageCache(engine, image_api=object())
        self.assertEqual(['a'], cache.prune(images_in_use=set(),
                                            min_age_seconds=60))
        self.assertEqual(['pydock-glance:a'], engine.removed)

    def test_images_of_this_hosts_instances_stay(self):
        engine = _Engine(['pydock-glance:a', 'pydock-glance:b'])
        cache = images.ImageCache(engine, image_api=object())
        self.assertEqual(['b'], cache.prune(images_in_use={'a'},
                                            min_age_seconds=60))
