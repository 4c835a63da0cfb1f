"""A container's files on their way to another engine, through Glance.

A cold migration or a resize to another host commits the stopped
container on the source and streams ``docker save`` of the commit into a
private Glance image of the instance's project, marked with the property
``pydock_migration=<migration uuid>``: the transfer image. The destination
loads it into its engine the way it loads any Glance image, keeps it under
the instance's resize image name (removed with the instance) and deletes
the transfer image from Glance at once: from then on the destination's
engine and the source's kept container hold the files, so Glance never
keeps a copy longer than the move itself.
"""
from nova import exception
from nova import objects
from oslo_log import log as logging

from nova_pydock import archive
from nova_pydock import engine as engine_client
from nova_pydock import images

LOG = logging.getLogger(__name__)

PROPERTY = 'pydock_migration'
REPOSITORY = 'pydock-migration'


def image_name_for(instance, migration_uuid):
    return 'pydock-migration-%s-%s' % (instance.uuid, migration_uuid)


def image_meta_for(instance, migration_uuid):
    """Glance metadata of a transfer image: private to the project."""
    return {
        'name': image_name_for(instance, migration_uuid),
        'container_format': images.CONTAINER_FORMAT,
        'disk_format': images.DISK_FORMAT,
        'visibility': 'private',
        'owner': instance.project_id,
        'properties': {PROPERTY: migration_uuid,
                       'instance_uuid': instance.uuid},
    }


class Transfer:
    """Sends containers' files to Glance and receives them from it."""

    def __init__(self, engine, image_cache):
        self._engine = engine
        self._images = image_cache

    @property
    def image_api(self):
        return self._images.image_api

    def send(self, context, guest, migration_uuid):
        """Upload the files of stopped container ``guest``; the image ID.

        Nothing is left if it fails: neither the commit in the engine nor
        the image in Glance.
        """
        instance = guest.instance
        commit_ref = '%s:%s' % (REPOSITORY, migration_uuid)
        guest.commit(REPOSITORY, migration_uuid, pauses=False)
        image_id = None
        try:
            image_id = self.image_api.create(
                context, image_meta_for(instance, migration_uuid))['id']
            LOG.info('Uploading the files of container %s to transfer '
                     'image %s', guest.name, image_id, instance=instance)
            self.image_api.update(
                context, image_id, {}, purge_props=False,
                data=archive.ChunkReader(self._engine.save_image(commit_ref)))
        except Exception:
            if image_id:
                self.delete(context, image_id, instance)
            raise
        finally:
            self._remove_engine_image(commit_ref, instance)
        LOG.info('Transfer image %s uploaded', image_id, instance=instance)
        return image_id

    def receive(self, context, instance, image_id, engine_ref):
        """Load transfer image ``image_id`` into the engine as
        ``engine_ref`` (repository:tag); delete it from Glance."""
        meta = objects.ImageMeta.from_image_ref(context, self.image_api,
                                                image_id)
        self._images.ensure(context, meta)
        glance_ref = images.reference(image_id)
        repository, tag = engine_ref.split(':', 1)
        self._engine.tag_image(glance_ref, repository, tag)
        self._remove_engine_image(glance_ref, instance)
        self.delete(context, image_id, instance)

    def delete(self, context, image_id, instance):
        """Delete a transfer image from Glance, if it is still there."""
        try:
            self.image_api.delete(context, image_id)
        except exception.ImageNotFound:
            return
        LOG.info('Transfer image %s deleted', image_id, instance=instance)

    def _remove_engine_image(self, ref, instance):
        try:
            self._engine.remove_image(ref)
        except engine_client.ImageNotInEngine:
            pass
        except (engine_client.EngineError, engine_client.ContainerConflict,
                exception.HypervisorUnavailable) as exc:
            LOG.warning('Image %s stays in the engine: %s', ref,
                        exc.format_message(), instance=instance)
