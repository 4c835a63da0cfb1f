"""PyDockDriver: maps Nova's compute driver calls onto a container engine.

Every Nova instance is one container. This module only translates Nova's
calls; the engine client (:mod:`nova_pydock.engine`), images
(:mod:`nova_pydock.images`), host resources (:mod:`nova_pydock.host`),
the flavor mapping (:mod:`nova_pydock.flavor`) and the network plumbing
(:mod:`nova_pydock.network`) each live in a module of their own.
"""
import shlex
import time

from nova import exception
from nova import objects
from nova.compute import task_states
from nova.compute import vm_states
from nova.virt import driver
from nova.virt import hardware
from oslo_log import log as logging
from oslo_serialization import jsonutils
from oslo_utils import excutils

from nova_pydock import blockdev
from nova_pydock import conf as pydock_conf
from nova_pydock import container
from nova_pydock import diagnostics
from nova_pydock import engine as engine_client
from nova_pydock import flavor as flavor_mapping
from nova_pydock import host as host_info
from nova_pydock import images
from nova_pydock import lifecycle
from nova_pydock.network import api as network_api

LOG = logging.getLogger(__name__)
CONF = pydock_conf.CONF


class ContainerExitedAtStart(exception.BuildAbortException,
                             exception.InstanceDeployFailure):
    """The container's process exited right after it was started.

    Any host would start the image's command the same way, so a build must
    not be rescheduled: as a ``BuildAbortException`` Nova's compute manager
    aborts it and the reason (exit code, last output) becomes the server's
    fault, where a plain ``InstanceDeployFailure`` is rescheduled until the
    user only sees "Exceeded maximum number of retries". It is still an
    ``InstanceDeployFailure`` for every caller that catches that.
    """
    msg_fmt = "%(reason)s"


def _refuse_resize(reason):
    """Nova puts the server back as it was and records ``reason``."""
    return exception.InstanceFaultRollback(
        inner_exception=exception.MigrationPreCheckError(reason=reason))


def _cached_network_info(instance):
    """The ports Nova last knew of, for calls that get no network_info."""
    if (not instance.obj_attr_is_set('info_cache')
            or instance.info_cache is None):
        return []
    return instance.info_cache.network_info or []


class PyDockDriver(driver.ComputeDriver):
    """Nova compute driver for Docker-compatible container engines."""

    capabilities = dict(
        driver.ComputeDriver.capabilities,
        has_imagecache=True,
        supports_attach_interface=True,
        supports_image_type_raw=True,
    )

    def __init__(self, virtapi, read_only=False):
        super().__init__(virtapi)
        self._engine = engine_client.EngineClient.from_conf(CONF)
        self._images = images.ImageCache(self._engine)
        self._host = host_info.Host(self._engine)
        self._blkio_devices = []
        self._network = network_api.ContainerNetwork()
        self._lifecycle = None
        # The compute host this driver serves, bound once: Nova builds the
        # driver while ``[DEFAULT] host`` names its service, and passes the
        # same name to init_host. Several services in one process (Nova's
        # functional harness) each keep their own.
        self._hostname = CONF.host

    # -- host ---------------------------------------------------------------

    def init_host(self, host):
        """Check the engine answers; remove containers of broken spawns."""
        self._hostname = host
        version = self._engine.version()
        LOG.info('Container engine at %(url)s: version %(v)s, API %(api)s',
                 {'url': self._engine.url, 'v': version.get('Version'),
                  'api': version.get('ApiVersion')})
        self._blkio_devices = blockdev.throttle_devices(
            CONF.pydock.blkio_devices, self._host.data_root(refresh=True))
        LOG.info('quota:disk_* throttles apply to %s',
                 ', '.join(self._blkio_devices) or 'no device (refused)')
        states = {}
        for found in self._own_containers():
            name = found['Names'][0].lstrip('/')
            if name.endswith(container.SPAWNING_SUFFIX):
                LOG.warning('Removing container %s left by an interrupted '
                            'spawn', name)
                self._engine.remove_container(found['Id'])
                continue
            states[found['State']] = states.get(found['State'], 0) + 1
        LOG.info('Containers of host %(host)s on the engine: %(states)s',
                 {'host': self._hostname, 'states': states or 'none'})
        self._follow_lifecycle()

    def _follow_lifecycle(self):
        if self._lifecycle is not None:
            self._lifecycle.stop()
        self._lifecycle = lifecycle.LifecycleWatcher(
            self._engine, self._hostname, self.emit_event,
            CONF.pydock.stopped_event_delay,
            CONF.pydock.engine_retry_interval)
        self._lifecycle.start()

    def cleanup_host(self, host):
        """Stop following container events (the service is stopping)."""
        if self._lifecycle is not None:
            self._lifecycle.stop()
            self._lifecycle = None

    def _expect(self, instance, *actions, within=0):
        """Say that the driver itself is causing ``actions``."""
        if self._lifecycle is not None:
            self._lifecycle.expect(container.name_for(instance), actions,
                                   within)

    def _own_containers(self):
        return self._engine.list_containers(
            container.host_filter(self._hostname))

    def get_available_nodes(self, refresh=False):
        return [self._hostname]

    def get_available_resource(self, nodename):
        return self._host.resources(nodename)

    def update_provider_tree(self, provider_tree, nodename, allocations=None):
        ratios = self._get_allocation_ratios(
            provider_tree.data(nodename).inventory)
        provider_tree.update_inventory(nodename,
                                       self._host.inventory(ratios))

    def get_host_uptime(self):
        return self._host.uptime()

    def get_host_cpu_stats(self):
        return self._host.cpu_stats()

    def get_host_ip_addr(self):
        """The address other services know this host by (``my_ip``)."""
        return CONF.my_ip

    # -- instances ----------------------------------------------------------

    def list_instances(self):
        return [c['Labels'][container.LABEL_NAME]
                for c in self._own_containers()
                if not self._is_provisional(c)]

    def list_instance_uuids(self):
        return [c['Labels'][container.LABEL_INSTANCE]
                for c in self._own_containers()
                if not self._is_provisional(c)]

    @staticmethod
    def _is_provisional(found):
        return not container.is_instance_name(found['Names'][0])

    def instance_exists(self, instance):
        try:
            self._inspect(instance)
        except exception.InstanceNotFound:
            return False
        return True

    def _inspect(self, instance):
        try:
            return self._engine.inspect_container(
                container.name_for(instance))
        except engine_client.ContainerNotFound as exc:
            raise exception.InstanceNotFound(
                instance_id=instance.uuid) from exc

    def get_info(self, instance, use_cache=True):
        state = self._inspect(instance)['State']
        return hardware.InstanceInfo(
            state=container.power_state_of(state, instance))

    # -- spawn and destroy --------------------------------------------------

    def spawn(self, context, instance, image_meta, injected_files,
              admin_password, allocations, network_info=None,
              block_device_info=None, power_on=True, accel_info=None):
        if block_device_info and block_device_info.get('block_device_mapping'):
            raise NotImplementedError('nova-pydock does not attach volumes')
        image, _ = self._images.ensure(context, image_meta)
        name = container.spawning_name_for(instance)
        self._create(instance, image_meta, image, name)
        try:
            self._engine.rename(name, container.name_for(instance))
            if power_on:
                self._start(instance, network_info, first_boot=True)
        except Exception:
            with excutils.save_and_reraise_exception():
                LOG.error('Spawn failed; removing the container',
                          instance=instance)
                self._remove(instance, network_info)
        LOG.info('Container %s created%s', container.name_for(instance),
                 ' and running' if power_on else ' (not started)',
                 instance=instance)

    def _create(self, instance, image_meta, image, name):
        config = image.get('Config') or {}
        command = None
        properties = image_meta.properties
        if properties.obj_attr_is_set('os_command_line'):
            command = shlex.split(properties.os_command_line)
        if not (command or config.get('Cmd') or config.get('Entrypoint')):
            raise exception.ImageUnacceptable(
                image_id=image_meta.id,
                reason='the image has no command: give it CMD or '
                       'ENTRYPOINT, or set the image property '
                       'os_command_line')
        return self._create_container(instance, name,
                                      images.reference(image_meta.id),
                                      command)

    def _create_container(self, instance, name, image_ref, command):
        """A container of the instance's flavor; ``command=None`` keeps
        the image's own."""
        try:
            return self._engine.create_container(
                name, image_ref, command=command,
                hostname=instance.hostname or instance.uuid,
                labels=container.labels_for(instance, self._hostname),
                host_config=self._host_config(instance.flavor))
        except engine_client.ContainerConflict as exc:
            raise exception.InstanceExists(name=name) from exc
        except engine_client.EngineError as exc:
            raise exception.InstanceDeployFailure(
                reason='the engine refused the container: %s'
                % exc.kwargs['reason']) from exc

    def _start(self, instance, network_info, first_boot=False):
        """Start the container, plumb its network, check it stays up.

        The container's network namespace is born with its process, so
        every start plugs the ports again, after removing what the last
        run left on the host side (an OVS port row of a dead veth keeps
        Open vSwitch on the deleted device, whether the container stopped
        through Nova, crashed, or went down with the engine). On the first
        boot the driver waits for Neutron's ``network-vif-plugged`` events,
        as libvirt does.
        """
        name = container.name_for(instance)
        self._expect(instance, 'start')
        self._engine.start(name)
        if network_info and not first_boot:
            self._network.unplug(instance, network_info, ignore_errors=True)
        if network_info:
            events = (network_api.vif_plugged_events(network_info)
                      if first_boot and CONF.vif_plugging_timeout else [])
            try:
                with self.virtapi.wait_for_instance_event(
                        instance, events, timeout=CONF.vif_plugging_timeout,
                        error_callback=self._neutron_failed_callback):
                    self._plug(instance, network_info)
            except exception.InstanceEventTimeout as exc:
                if CONF.vif_plugging_is_fatal:
                    raise exception.VirtualInterfaceCreateException() from exc
                LOG.warning('Neutron did not confirm the ports in time; '
                            'going on ([DEFAULT] vif_plugging_is_fatal is '
                            'false)', instance=instance)
            except Exception:
                # A process that died at once takes its namespace along:
                # report why it died, not that plugging failed.
                with excutils.save_and_reraise_exception() as ctx:
                    state = self._engine.inspect_container(name)['State']
                    if not state.get('Running'):
                        ctx.reraise = False
                        raise self._exited(instance, name, state) from None
        self._watch_startup(instance)

    def _plug(self, instance, network_info):
        details = self._engine.inspect_container(container.name_for(instance))
        self._network.plug(instance, network_info,
                           details['NetworkSettings']['SandboxKey'],
                           resolv_conf_path=details['ResolvConfPath'])

    @staticmethod
    def _neutron_failed_callback(event_name, instance):
        LOG.error('Neutron reported failure on event %s', event_name,
                  instance=instance)
        if CONF.vif_plugging_is_fatal:
            raise exception.VirtualInterfaceCreateException()

    def _watch_startup(self, instance):
        """Fail when the container's process exits right after start."""
        name = container.name_for(instance)
        deadline = time.monotonic() + CONF.pydock.startup_check_seconds
        while True:
            state = self._engine.inspect_container(name)['State']
            if not state.get('Running'):
                raise self._exited(instance, name, state)
            if time.monotonic() >= deadline:
                return
            time.sleep(0.2)

    def _exited(self, instance, name, state):
        return ContainerExitedAtStart(
            instance_uuid=instance.uuid,
            reason='the container exited at start with code %s; its last '
                   'output: %s' % (state.get('ExitCode'),
                                   self._engine.last_output(name)))

    def destroy(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, destroy_secrets=True):
        """Remove the container; stop and keep it if its disk is kept.

        Nova keeps an instance's disks when another host that shares them
        hands the instance back (a resize reverted on this engine): the
        container's writable layer is that disk.
        """
        if destroy_disks:
            self._remove(instance, network_info)
            return
        try:
            self._stop(instance, CONF.pydock.graceful_stop_timeout)
        except exception.InstanceNotFound:
            pass
        self.cleanup(context, instance, network_info)
        LOG.info('Container %s stopped and kept: Nova keeps its disk',
                 container.name_for(instance), instance=instance)

    def _remove(self, instance, network_info):
        self._expect(instance, 'die', within=CONF.pydock.engine_timeout)
        for name in (container.name_for(instance),
                     container.spawning_name_for(instance),
                     container.resize_source_name_for(instance)):
            try:
                self._engine.remove_container(name)
                LOG.info('Container %s removed', name, instance=instance)
            except engine_client.ContainerNotFound:
                pass
        self._remove_resize_images(instance)
        self.cleanup(None, instance, network_info)

    def cleanup(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, migrate_data=None, destroy_vifs=True,
                destroy_secrets=True):
        """Nothing outlives the container but its host network devices."""
        if destroy_vifs:
            self._network.unplug(instance, network_info, ignore_errors=True)

    # -- networking ---------------------------------------------------------

    def plug_vifs(self, instance, network_info):
        """Plug ports into the running container (host or engine restart).

        A stopped container has no network namespace: its ports are
        plugged when it starts.
        """
        if self._inspect(instance)['State'].get('Running'):
            self._plug(instance, network_info)

    def unplug_vifs(self, instance, network_info):
        self._network.unplug(instance, network_info)

    def attach_interface(self, context, instance, image_meta, vif):
        details = self._inspect(instance)
        if not details['State'].get('Running'):
            raise exception.InstanceNotRunning(instance_id=instance.uuid)
        self._network.attach(instance, vif,
                             details['NetworkSettings']['SandboxKey'],
                             resolv_conf_path=details['ResolvConfPath'])

    def detach_interface(self, context, instance, vif):
        self._network.detach(
            instance, vif,
            resolv_conf_path=self._inspect(instance)['ResolvConfPath'])

    # -- power --------------------------------------------------------------

    def power_off(self, instance, timeout=0, retry_interval=0):
        """SIGTERM, up to ``timeout`` seconds of grace, then SIGKILL.

        The veth pairs died with the namespace; what is left on the host
        side (OVS port rows, shaping devices) goes too, and comes back at
        the next start.
        """
        self._stop(instance, timeout)
        network_info = _cached_network_info(instance)
        if network_info:
            self._network.unplug(instance, network_info, ignore_errors=True)

    def _stop(self, instance, timeout):
        self._inspect(instance)
        self._expect(instance, 'die', within=timeout)
        self._engine.stop(container.name_for(instance), timeout=timeout)

    def power_on(self, context, instance, network_info,
                 block_device_info=None, accel_info=None, share_info=None):
        state = self._inspect(instance)['State']
        if state.get('Running'):
            return
        self._start(instance, network_info)

    def reboot(self, context, instance, network_info, reboot_type,
               block_device_info=None, bad_volumes_callback=None,
               accel_info=None, share_info=None):
        """SOFT: graceful stop, then start. HARD: kill, then start."""
        name = container.name_for(instance)
        state = self._inspect(instance)['State']
        if state.get('Paused'):
            self._expect(instance, 'unpause')
            self._engine.unpause(name)
        if state.get('Running'):
            self._expect(instance, 'die', within=CONF.pydock.engine_timeout)
            if reboot_type == 'SOFT':
                self._engine.stop(name,
                                  timeout=CONF.pydock.graceful_stop_timeout)
            else:
                self._engine.kill(name)
                self._engine.wait_stopped(name, CONF.pydock.engine_timeout)
        self._start(instance, network_info)

    def pause(self, instance):
        self._freeze(instance)

    def unpause(self, instance):
        self._thaw(instance)

    def suspend(self, context, instance):
        """Containers have no memory image to save: suspend freezes them."""
        self._freeze(instance)

    def resume(self, context, instance, network_info, block_device_info=None,
               share_info=None):
        """Thaw; the namespace survived the freeze, plugging is a check."""
        self._thaw(instance)
        if network_info:
            self._plug(instance, network_info)

    def _freeze(self, instance):
        state = self._inspect(instance)['State']
        if not state.get('Running') or state.get('Paused'):
            raise exception.InstanceNotRunning(instance_id=instance.uuid)
        self._expect(instance, 'pause')
        self._engine.pause(container.name_for(instance))

    def _thaw(self, instance):
        state = self._inspect(instance)['State']
        if state.get('Paused'):
            self._expect(instance, 'unpause')
            self._engine.unpause(container.name_for(instance))

    def resume_state_on_host_boot(self, context, instance, network_info,
                                  share_info, block_device_info=None):
        """After a host or engine restart: run it again if it stopped."""
        state = self._inspect(instance)['State']
        if state.get('Paused'):
            self._expect(instance, 'unpause')
            self._engine.unpause(container.name_for(instance))
        elif not state.get('Running'):
            self._start(instance, network_info)

    # -- resize (on this host) ----------------------------------------------
    #
    # A container's disk is its writable layer in this host's engine, so a
    # resize stays on this host. Limits the engine can update are changed
    # in place; a flavor that changes what is fixed when a container is
    # created gets a new container, made from an image of the old one's
    # files, while the old one is kept, stopped, for a revert. Moving to
    # another engine (cold migration, resize to another host) is not
    # supported.

    def migrate_disk_and_power_off(self, context, instance, dest, flavor,
                                   network_info, block_device_info=None,
                                   timeout=0, retry_interval=0):
        migration = objects.Migration.get_by_instance_and_status(
            context, instance.uuid, 'migrating')
        if migration.dest_compute != self._hostname:
            raise _refuse_resize(
                'nova-pydock resizes a container on its own host only; '
                'the scheduler chose %s (set [DEFAULT] '
                'allow_resize_to_same_host = true; cold migration is not '
                'supported)' % migration.dest_compute)
        try:
            fixed = flavor_mapping.fixed_at_creation(
                self._host_config(instance.flavor),
                self._host_config(flavor))
        except (exception.InvalidInput,
                exception.InstanceDeployFailure) as exc:
            raise _refuse_resize('flavor %s: %s' % (
                flavor.name, exc.format_message())) from exc
        self.power_off(instance, timeout, retry_interval)
        # disk_info, handed to finish_migration: the image of the old
        # container's files when a new container is needed.
        if not fixed:
            return jsonutils.dumps({})
        LOG.info('Flavor %s changes %s: the container will be made anew '
                 'from its files', flavor.name, ', '.join(fixed),
                 instance=instance)
        return jsonutils.dumps({'image': self._keep_resize_source(instance)})

    def finish_migration(self, context, migration, instance, disk_info,
                         network_info, image_meta, resize_instance,
                         allocations, block_device_info=None, power_on=True,
                         share_info=None):
        # instance.flavor is the new flavor; resize_instance only says
        # whether disk sizes changed.
        image_ref = jsonutils.loads(disk_info or '{}').get('image')
        if image_ref:
            self._create_container(instance, container.name_for(instance),
                                   image_ref, command=None)
            LOG.info('Container %s made anew from %s for flavor %s',
                     container.name_for(instance), image_ref,
                     instance.flavor.name, instance=instance)
        else:
            self._take_flavor_limits(instance)
        if power_on:
            self.power_on(context, instance, network_info)

    def confirm_migration(self, context, migration, instance, network_info):
        """Remove the old container, if the resize made a new one."""
        source = container.resize_source_name_for(instance)
        try:
            self._engine.remove_container(source)
        except engine_client.ContainerNotFound:
            return
        LOG.info('Resize confirmed; container %s removed', source,
                 instance=instance)

    def finish_revert_migration(self, context, instance, network_info,
                                migration, block_device_info=None,
                                power_on=True, share_info=None):
        # instance.flavor is the old flavor again; Nova's destroy stopped
        # the resized container and kept it (see destroy).
        source = container.resize_source_name_for(instance)
        name = container.name_for(instance)
        try:
            self._engine.inspect_container(source)
        except engine_client.ContainerNotFound:
            self._take_flavor_limits(instance)
        else:
            resized_from = None
            try:
                resized_from = self._engine.inspect_container(name)[
                    'Config']['Image']
                self._engine.remove_container(name)
            except engine_client.ContainerNotFound:
                pass
            self._engine.rename(source, name)
            if resized_from and container.is_resize_image_of(
                    instance, resized_from):
                self._remove_resize_image(instance, resized_from)
            LOG.info('Resize reverted; container %s is back', name,
                     instance=instance)
        if power_on:
            self.power_on(context, instance, network_info)

    def check_instance_shared_storage_local(self, context, instance):
        """Hosts share an instance's disk when they share the engine."""
        return {'engine_id': self._engine.info()['ID']}

    def check_instance_shared_storage_remote(self, context, data):
        return data.get('engine_id') == self._engine.info()['ID']

    def _host_config(self, flavor):
        return flavor_mapping.host_config_for(flavor, CONF.pydock,
                                              self._blkio_devices)

    def _take_flavor_limits(self, instance):
        limits = flavor_mapping.in_place_limits(
            self._host_config(instance.flavor))
        self._engine.update_limits(container.name_for(instance), limits)
        LOG.info('Container %s now has the limits of flavor %s',
                 container.name_for(instance), instance.flavor.name,
                 instance=instance)

    def _keep_resize_source(self, instance):
        """Image the stopped container's files; keep it aside, stopped.

        Returns the image's reference. If that fails the container is
        started again where it was (when it ran) and the resize refused.
        """
        name = container.name_for(instance)
        repository, tag = container.resize_image_for(instance)
        image_ref = '%s:%s' % (repository, tag)
        try:
            self._engine.commit(name, repository, tag)
            self._engine.rename(name,
                                container.resize_source_name_for(instance))
        except (engine_client.EngineError, engine_client.ContainerConflict,
                exception.HypervisorUnavailable) as exc:
            self._remove_resize_image(instance, image_ref)
            if instance.vm_state == vm_states.ACTIVE:
                self.power_on(None, instance, _cached_network_info(instance))
            raise _refuse_resize('could not keep container %s for a new '
                                 'one: %s' % (name, exc.format_message())
                                 ) from exc
        return image_ref

    def _remove_resize_images(self, instance):
        for found in self._engine.list_images(
                container.resize_images_of(instance)):
            for ref in found.get('RepoTags') or ():
                if container.is_resize_image_of(instance, ref):
                    self._remove_resize_image(instance, ref)

    def _remove_resize_image(self, instance, image_ref):
        try:
            self._engine.remove_image(image_ref)
        except engine_client.ImageNotInEngine:
            pass
        except engine_client.ContainerConflict as exc:
            LOG.warning('Image %s stays: %s', image_ref,
                        exc.format_message(), instance=instance)

    # -- console, diagnostics -----------------------------------------------

    def get_console_output(self, context, instance):
        self._inspect(instance)
        limit = CONF.pydock.console_log_max_bytes
        # Lines are at least one byte: this many lines always cover limit.
        output = self._engine.logs(container.name_for(instance), limit)
        return output[-limit:]

    def get_diagnostics(self, instance):
        details = self._inspect(instance)
        stats = (self._engine.stats(container.name_for(instance))
                 if details['State'].get('Running') else {})
        return diagnostics.from_engine(
            details, stats,
            self._network.port_counters(instance))

    def get_instance_diagnostics(self, instance):
        # Nova's Diagnostics object requires a driver name from its fixed
        # list (libvirt, xenapi, vmwareapi, ironic, hyperv) and the API
        # refuses a response without one; none of them is this driver.
        raise NotImplementedError(
            "Nova's versioned diagnostics (microversion 2.48+) only accept "
            "VM hypervisor drivers; use microversion 2.47 or older, served "
            "by get_diagnostics")

    # -- images -------------------------------------------------------------

    def snapshot(self, context, instance, image_id, update_task_state):
        """Commit the container and stream ``docker save`` into Glance."""
        try:
            name = self._inspect(instance)['Name'].lstrip('/')
        except exception.InstanceNotFound as exc:
            raise exception.InstanceNotRunning(
                instance_id=instance.uuid) from exc
        update_task_state(task_state=task_states.IMAGE_PENDING_UPLOAD)
        ref = images.reference(image_id)
        # The engine pauses the container while it commits.
        self._expect(instance, 'pause', 'unpause')
        self._engine.commit(name, images.REPOSITORY, image_id)
        try:
            update_task_state(task_state=task_states.IMAGE_UPLOADING,
                              expected_state=task_states.IMAGE_PENDING_UPLOAD)
            LOG.info('Uploading snapshot %s to Glance', image_id,
                     instance=instance)
            self._images.upload_snapshot(context, image_id, ref, {})
        except Exception:
            with excutils.save_and_reraise_exception():
                self._engine.remove_image(ref)
        LOG.info('Snapshot %s uploaded', image_id, instance=instance)

    def cache_image(self, context, image_id):
        meta = objects.ImageMeta.from_image_ref(context,
                                                self._images.image_api,
                                                image_id)
        return self._images.ensure(context, meta)[1]

    def manage_image_cache(self, context, all_instances):
        in_use = {inst.image_ref for inst in all_instances
                  if inst.host == self._hostname}
        for found in self._own_containers():
            image = found.get('Image', '')
            if image.startswith(images.REPOSITORY + ':'):
                in_use.add(image.split(':', 1)[1])
        min_age = CONF.image_cache.remove_unused_original_minimum_age_seconds
        self._images.prune(in_use, min_age)
