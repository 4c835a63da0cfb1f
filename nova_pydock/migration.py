"""Resize: a server takes another flavor, on its own compute host.

A container's disk is its writable layer in this host's engine, so a
resize stays on this host. Limits the engine can update are changed in
place; a flavor that changes what is fixed when a container is created
gets a new container, made from an image of the old one's files, while
the old one is kept, stopped, under another name for a revert.

A cold migration or a resize to another host moves the files through a
Glance transfer image (:mod:`nova_pydock.transfer`): the source keeps its
stopped container for a revert until Nova confirms, the destination makes
a new container of the new flavor from the image. A config drive is
set aside on the source and rendered anew on the destination
(:mod:`nova_pydock.configdrive`).
"""
import fnmatch
import uuid

from nova import exception
from nova import objects
from nova.compute import vm_states
from oslo_log import log as logging
from oslo_serialization import jsonutils
from oslo_utils import excutils

from nova_pydock import container
from nova_pydock import engine as engine_client
from nova_pydock import flavor as flavor_mapping
from nova_pydock import transfer
from nova_pydock.network import api as network_api

LOG = logging.getLogger(__name__)

RESIZE_REPOSITORY = 'pydock-resize'


def resize_source_name_for(instance):
    """Name of the old container a resize keeps aside for a revert."""
    return container.name_for(instance) + container.RESIZE_SOURCE_SUFFIX


def resize_image_for(instance):
    """(repository, tag) for an image of the instance's files: a new one
    for every resize, so that each image keeps a tag of its own."""
    return RESIZE_REPOSITORY, '%s-%s' % (instance.uuid, uuid.uuid4().hex[:8])


def resize_images_of(instance):
    """Reference pattern matching every resize image of the instance."""
    return '%s:%s-*' % (RESIZE_REPOSITORY, instance.uuid)


def is_resize_image_of(instance, ref):
    """Whether an image reference is one of the instance's resize images,
    the only images its resize may remove."""
    return fnmatch.fnmatchcase(ref, resize_images_of(instance))


def refuse(reason):
    """Nova puts the server back as it was and records ``reason``."""
    return exception.InstanceFaultRollback(
        inner_exception=exception.MigrationPreCheckError(reason=reason))


class Resize:
    """Nova's resize calls for the containers of one compute host.

    ``compute`` is the driver: a resize powers containers off and on as
    Nova's power calls do, and gets them from its ``container_of``,
    ``create_container`` and ``host_config`` (the flavor mapping).
    ``image_cache`` loads a transfer image on a destination host;
    ``drives`` are the host's config drives.
    """

    def __init__(self, compute, engine, image_cache=None, drives=None):
        self._compute = compute
        self._engine = engine
        self._drives = drives
        self._transfer = transfer.Transfer(engine, image_cache)

    def migrate_disk_and_power_off(self, context, instance, flavor,
                                   timeout, retry_interval):
        """Stop the container; keep it aside if the flavor needs a new one.

        Returns Nova's ``disk_info`` for finish_migration: the image of
        the old container's files when a new container is needed.
        """
        migration = objects.Migration.get_by_instance_and_status(
            context, instance.uuid, 'migrating')
        try:
            fixed = flavor_mapping.fixed_at_creation(
                self._compute.host_config(instance.flavor),
                self._compute.host_config(flavor))
        except (exception.InvalidInput,
                exception.InstanceDeployFailure) as exc:
            raise refuse('flavor %s: %s' % (
                flavor.name, exc.format_message())) from exc
        self._compute.power_off(instance, timeout, retry_interval)
        if migration.dest_compute != self._compute.hostname:
            return jsonutils.dumps({'transfer_image': self._send_away(
                context, instance, migration)})
        if not fixed:
            return jsonutils.dumps({})
        LOG.info('Flavor %s changes %s: the container will be made anew '
                 'from its files', flavor.name, ', '.join(fixed),
                 instance=instance)
        return jsonutils.dumps({'image': self._keep_source(instance)})

    def finish_migration(self, context, instance, disk_info, network_info,
                         power_on):
        # instance.flavor is the new flavor.
        info = jsonutils.loads(disk_info or '{}')
        if info.get('transfer_image'):
            self._receive(context, instance, info['transfer_image'],
                          network_info, power_on)
            return
        image_ref = info.get('image')
        if image_ref:
            made = self._compute.create_container(
                instance, container.name_for(instance), image_ref)
            LOG.info('Container %s made anew from %s for flavor %s',
                     made.name, image_ref, instance.flavor.name,
                     instance=instance)
        else:
            self._take_flavor_limits(instance)
        if power_on:
            self._compute.power_on(context, instance, network_info)

    def confirm_migration(self, instance):
        """Remove the old container, if the resize made a new one, and
        the config drive a move set aside."""
        source = self._compute.container_of(
            instance, resize_source_name_for(instance))
        if source.remove():
            LOG.info('Resize confirmed; container %s removed', source.name,
                     instance=instance)
        self._drives.remove_set_aside(instance)

    def finish_revert_migration(self, context, instance, network_info,
                                power_on):
        # instance.flavor is the old flavor again; Nova's destroy stopped
        # the resized container and kept it (see PyDockDriver.destroy).
        self._drives.put_back(instance)
        source = self._compute.container_of(
            instance, resize_source_name_for(instance))
        if source.exists():
            self._put_source_back(instance, source)
        else:
            self._take_flavor_limits(instance)
        if power_on:
            self._compute.power_on(context, instance, network_info)

    def _put_source_back(self, instance, source):
        resized = self._compute.container_of(instance)
        resized_from = None
        if resized.exists():
            resized_from = resized.image
            resized.remove()
        source.rename(container.name_for(instance))
        if resized_from and is_resize_image_of(instance, resized_from):
            self._remove_image(instance, resized_from)
        LOG.info('Resize reverted; container %s is back', source.name,
                 instance=instance)

    def remove_kept(self, instance):
        """What a resize kept of a deleted instance: container and images."""
        source = self._compute.container_of(
            instance, resize_source_name_for(instance))
        if source.remove():
            LOG.info('Container %s removed', source.name, instance=instance)
        for found in self._engine.list_images(resize_images_of(instance)):
            for ref in found.get('RepoTags') or ():
                if is_resize_image_of(instance, ref):
                    self._remove_image(instance, ref)

    def _take_flavor_limits(self, instance):
        limits = flavor_mapping.in_place_limits(
            self._compute.host_config(instance.flavor))
        resized = self._compute.container_of(instance)
        resized.update_limits(limits)
        LOG.info('Container %s now has the limits of flavor %s',
                 resized.name, instance.flavor.name, instance=instance)

    def _keep_source(self, instance):
        """Image the stopped container's files; keep it aside, stopped.

        Returns the image's reference. If that fails the container is
        started again where it was (when it ran) and the resize refused.
        """
        source = self._compute.container_of(instance)
        repository, tag = resize_image_for(instance)
        image_ref = '%s:%s' % (repository, tag)
        try:
            source.commit(repository, tag, pauses=False)
            source.rename(resize_source_name_for(instance))
        except (engine_client.EngineError, engine_client.ContainerConflict,
                exception.HypervisorUnavailable) as exc:
            self._remove_image(instance, image_ref)
            if instance.vm_state == vm_states.ACTIVE:
                self._compute.power_on(
                    None, instance, network_api.cached_network_info(instance))
            raise refuse('could not keep container %s for a new one: %s'
                         % (container.name_for(instance),
                            exc.format_message())) from exc
        return image_ref

    def _send_away(self, context, instance, migration):
        """Upload the stopped container's files for another host; keep
        the container, stopped, for a revert. Returns the transfer image.

        If that fails the container is where it was, started again if it
        ran, nothing is left in Glance, and the migration is refused.
        """
        source = self._compute.container_of(instance)
        image_id = None
        try:
            image_id = self._transfer.send(context, source, migration.uuid)
            self._drives.set_aside(instance)
            source.rename(resize_source_name_for(instance))
        except Exception as exc:
            self._drives.put_back(instance)
            if image_id:
                self._transfer.delete(context, image_id, instance)
            if instance.vm_state == vm_states.ACTIVE:
                self._compute.power_on(
                    context, instance,
                    network_api.cached_network_info(instance))
            reason = (exc.format_message() if hasattr(exc, 'format_message')
                      else str(exc) or type(exc).__name__)
            raise refuse('could not send container %s to host %s: %s' % (
                source.name, migration.dest_compute, reason)) from exc
        LOG.info('Container %s kept for a revert; its files go to host %s '
                 'in transfer image %s', source.name, migration.dest_compute,
                 image_id, instance=instance)
        return image_id

    def _receive(self, context, instance, image_id, network_info, power_on):
        """Make the instance's container from a transfer image.

        A failure removes what this host made of it (container, image,
        host side of its ports) and the transfer image: the source still
        keeps the original, stopped.
        """
        repository, tag = resize_image_for(instance)
        image_ref = '%s:%s' % (repository, tag)
        made = None
        try:
            self._transfer.receive(context, instance, image_id, image_ref)
            # Nova keeps neither the admin password nor injected files.
            self._drives.write(instance, network_info)
            made = self._compute.create_container(
                instance, container.name_for(instance), image_ref)
            if power_on:
                self._compute.power_on(context, instance, network_info)
        except Exception:
            with excutils.save_and_reraise_exception():
                LOG.error('Could not make the container from transfer image '
                          '%s; removing what this host made of it', image_id,
                          instance=instance)
                self._undo_receive(context, instance, image_id, made,
                                   image_ref, network_info)
        LOG.info('Container %s made from transfer image %s for flavor %s',
                 container.name_for(instance), image_id,
                 instance.flavor.name, instance=instance)

    def _undo_receive(self, context, instance, image_id, made, image_ref,
                      network_info):
        cleanups = [lambda: self._transfer.delete(context, image_id,
                                                  instance),
                    lambda: self._compute.cleanup(context, instance,
                                                  network_info),
                    lambda: made and made.remove(),
                    lambda: self._drives.remove(instance),
                    lambda: self._remove_image(instance, image_ref)]
        for cleanup in cleanups:
            try:
                cleanup()
            except Exception as exc:  # one failed cleanup must not stop
                LOG.warning('Cleanup after a failed migration: %s', exc,
                            instance=instance)

    def _remove_image(self, instance, image_ref):
        try:
            self._engine.remove_image(image_ref)
        except engine_client.ImageNotInEngine:
            pass
        except engine_client.ContainerConflict as exc:
            LOG.warning('Image %s stays: %s', image_ref,
                        exc.format_message(), instance=instance)
