"""PyDockDriver: maps Nova's compute driver calls onto a container engine.

Every Nova instance is one container. This module only translates Nova's
calls; one instance's container (:mod:`nova_pydock.container`), resize
(:mod:`nova_pydock.migration`), the engine client
(:mod:`nova_pydock.engine`), images (:mod:`nova_pydock.images`), host
resources (:mod:`nova_pydock.host`), the flavor mapping
(:mod:`nova_pydock.flavor`) and the network plumbing
(:mod:`nova_pydock.network`) each live in a module of their own.
"""
from nova import exception
from nova import objects
from nova.virt import driver
from nova.virt import hardware
from oslo_log import log as logging
from oslo_utils import excutils

from nova_pydock import blockdev
from nova_pydock import boot
from nova_pydock import conf as pydock_conf
from nova_pydock import configdrive
from nova_pydock import console as serial_console
from nova_pydock import consolelog
from nova_pydock import container
from nova_pydock import diagnostics
from nova_pydock import engine as engine_client
from nova_pydock import evacuation
from nova_pydock import flavor as flavor_mapping
from nova_pydock import host as host_info
from nova_pydock import images
from nova_pydock import interrupted
from nova_pydock import lifecycle
from nova_pydock import migration
from nova_pydock import personality
from nova_pydock import power_states
from nova_pydock import recovery
from nova_pydock.network import api as network_api

LOG = logging.getLogger(__name__)
CONF = pydock_conf.CONF


class PyDockDriver(driver.ComputeDriver):
    """Nova compute driver for Docker-compatible container engines."""

    capabilities = dict(
        driver.ComputeDriver.capabilities,
        has_imagecache=True,
        supports_attach_interface=True,
        supports_evacuate=True,
        supports_image_type_raw=True,
    )

    def __init__(self, virtapi, read_only=False):
        super().__init__(virtapi)
        self._engine = engine_client.EngineClient.from_conf(CONF)
        self._images = images.ImageCache(self._engine)
        self._host = host_info.Host(self._engine)
        self._blkio_devices = []
        self._network = network_api.ContainerNetwork()
        self._drives = configdrive.ConfigDrives.from_conf(CONF)
        self._lifecycle = None
        self._resize = migration.Resize(self, self._engine, self._images,
                                        self._drives)
        self._consoles = serial_console.SerialConsoles(self._engine)
        self._recovery = recovery.EngineRecovery(self._engine, CONF.host,
                                                 self)
        # The compute host this driver serves, bound once: Nova builds the
        # driver while ``[DEFAULT] host`` names its service, and passes the
        # same name to init_host. Several services in one process (Nova's
        # functional harness) each keep their own.
        self._hostname = CONF.host
        self._listed_states = power_states.ListedStates(
            self._own_containers, lambda: self._engine.container_changes)

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
        states = container.remove_interrupted_spawns(
            self._engine, self._own_containers())
        LOG.info('Containers of host %(host)s on the engine: %(states)s',
                 {'host': self._hostname, 'states': states or 'none'})
        self._follow_lifecycle()
        self._consoles.start(host)

    def process_instances_at_startup(self, context, instances):
        """Remove what builds the service's stop cut short had made, and
        say why they fail (:mod:`nova_pydock.interrupted`)."""
        interrupted.clean_up(context, instances, self._hostname,
                             list(self.get_nodenames_by_uuid()), self._remove)
        return instances

    def _follow_lifecycle(self):
        self._stop_following()
        self._recovery = recovery.EngineRecovery(
            self._engine, self._hostname, self,
            CONF.pydock.engine_restart_concurrency)
        self._lifecycle = lifecycle.LifecycleWatcher(
            self._engine.without_retries(), self._hostname, self.emit_event,
            CONF.pydock.stopped_event_delay,
            CONF.pydock.engine_retry_interval, recovery=self._recovery)
        self._lifecycle.start()

    def cleanup_host(self, host):
        """Stop following container events and serving consoles."""
        self._consoles.stop()
        self._stop_following()

    def _stop_following(self):
        if self._lifecycle is not None:
            self._lifecycle.stop()
            self._lifecycle = None
        self._recovery.stop()

    @property
    def hostname(self):
        """The compute host whose containers this driver serves."""
        return self._hostname

    def container_of(self, instance, name=None):
        """The instance's container (or its kept one called ``name``)."""
        return container.Container(self._engine, instance, self._lifecycle,
                                   name)

    def _inspected(self, instance):
        """The instance's container, inspected; InstanceNotFound if none."""
        found = self.container_of(instance)
        found.inspect()
        return found

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
        inventory = self._host.inventory(ratios)
        if provider_tree.update_inventory(nodename, inventory):
            LOG.info('Inventory of %s: %s', nodename,
                     host_info.describe_inventory(inventory))

    def get_host_uptime(self):
        return self._host.uptime()

    def get_host_cpu_stats(self):
        return self._host.cpu_stats()

    def get_host_ip_addr(self):
        """The address other services know this host by (``my_ip``)."""
        return CONF.my_ip

    # -- instances ----------------------------------------------------------

    def list_instances(self):
        return self._listed(container.LABEL_NAME)

    def list_instance_uuids(self):
        return self._listed(container.LABEL_INSTANCE)

    def _listed(self, label):
        """Label ``label`` of each instance's own container of this host."""
        return [found['Labels'][label] for found in self._own_containers()
                if container.is_instance_name(found['Names'][0])]

    def instance_exists(self, instance):
        return self.container_of(instance).exists()

    def get_info(self, instance, use_cache=True):
        """The instance's power state; ``use_cache`` (Nova's power state
        sync, once per instance) answers from one listing of the host's
        containers (``nova_pydock.power_states``)."""
        state = (self._listed_states.state_of(instance) if use_cache
                 else self._inspected(instance).state)
        return hardware.InstanceInfo(
            state=self._recovery.power_state(instance, state))

    # -- spawn and destroy --------------------------------------------------

    def spawn(self, context, instance, image_meta, injected_files,
              admin_password, allocations, network_info=None,
              block_device_info=None, power_on=True, accel_info=None):
        if block_device_info and block_device_info.get('block_device_mapping'):
            raise NotImplementedError('nova-pydock does not attach volumes')
        image, _ = self._images.ensure(context, image_meta)
        self._drives.write(instance, network_info, injected_files,
                           admin_password)
        try:
            made = self.create_container(
                instance, container.spawning_name_for(instance),
                images.reference(image_meta.id),
                images.command_for(image_meta, image))
        except Exception:
            with excutils.save_and_reraise_exception():
                self._drives.remove(instance)
        try:
            personality.inject(
                self._engine, made.name, instance, injected_files,
                self.host_config(instance.flavor).get('read_only'))
            made.rename(container.name_for(instance))
            if power_on:
                self._start(made, network_info, first_boot=True)
        except Exception:
            with excutils.save_and_reraise_exception():
                LOG.error('Spawn failed; removing the container',
                          instance=instance)
                self._remove(instance, network_info)
        LOG.info('Container %s created%s', made.name,
                 ' and running' if power_on else ' (not started)',
                 instance=instance)

    def create_container(self, instance, name, image_ref, command=None):
        """A container of the instance's flavor; ``command=None`` keeps
        the image's own."""
        return container.Container.create(
            self._engine, instance, name, image_ref, command, self._hostname,
            self.host_config(instance.flavor), self._lifecycle,
            terminal=self._consoles.wants_terminal(image_ref, command),
            read_only_mounts=self._drives.mounts_for(instance),
            log_config=consolelog.engine_log_config(CONF.pydock))

    def host_config(self, flavor):
        """The engine's limits and security profile for ``flavor``."""
        return flavor_mapping.host_config_for(flavor, CONF.pydock,
                                              self._blkio_devices)

    def _start(self, guest, network_info, first_boot=False):
        boot.start(guest, network_info, self._network, self.virtapi,
                   first_boot)

    def _plug(self, guest, network_info):
        boot.plug(guest, network_info, self._network)

    def destroy(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, destroy_secrets=True):
        """Remove the container; stop and keep it if its disk is kept.

        Nova keeps an instance's disks when another host that shares them
        hands the instance back (a resize reverted on this engine): the
        container's writable layer is that disk.
        """
        self._consoles.disconnect(instance)
        if destroy_disks:
            self._remove(instance, network_info)
            return
        kept = self.container_of(instance)
        if kept.exists():
            kept.stop(CONF.pydock.graceful_stop_timeout)
        self.cleanup(context, instance, network_info)
        LOG.info('Container %s stopped and kept: Nova keeps its disk',
                 kept.name, instance=instance)

    def _remove(self, instance, network_info):
        for found, within in (
                (self.container_of(instance), CONF.pydock.engine_timeout),
                (self.container_of(instance,
                                   container.spawning_name_for(instance)),
                 None)):
            if found.remove(within):
                LOG.info('Container %s removed', found.name,
                         instance=instance)
        self._resize.remove_kept(instance)
        self._drives.remove(instance)
        self.cleanup(None, instance, network_info)

    def cleanup(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, migrate_data=None, destroy_vifs=True,
                destroy_secrets=True):
        """Nothing outlives the container but its host network devices.

        A server evacuated to another host while this one was down has
        its ports plugged there now: Nova's clean-up of the stale copy
        here leaves them alone.
        """
        if destroy_vifs and not evacuation.moved_away(instance,
                                                      self._hostname):
            self._network.unplug(instance, network_info, ignore_errors=True)

    # -- networking ---------------------------------------------------------

    def plug_vifs(self, instance, network_info):
        """Plug ports into the running container (host or engine restart).

        A stopped container has no network namespace: its ports are
        plugged when it starts.
        """
        guest = self._inspected(instance)
        if guest.running:
            self._plug(guest, network_info)

    def unplug_vifs(self, instance, network_info):
        self._network.unplug(instance, network_info)

    def attach_interface(self, context, instance, image_meta, vif):
        guest = self._inspected(instance)
        if not guest.running:
            raise exception.InstanceNotRunning(instance_id=instance.uuid)
        self._network.attach(instance, vif, guest.netns,
                             resolv_conf_path=guest.resolv_conf_path)

    def detach_interface(self, context, instance, vif):
        self._network.detach(
            instance, vif,
            resolv_conf_path=self._inspected(instance).resolv_conf_path)

    # -- power --------------------------------------------------------------

    def power_off(self, instance, timeout=0, retry_interval=0):
        """SIGTERM, up to ``timeout`` seconds of grace, then SIGKILL.

        The veth pairs died with the namespace; what is left on the host
        side (OVS port rows, shaping devices) goes too, and comes back at
        the next start.
        """
        self._inspected(instance).stop(timeout)
        network_info = network_api.cached_network_info(instance)
        if network_info:
            self._network.unplug(instance, network_info, ignore_errors=True)

    def power_on(self, context, instance, network_info,
                 block_device_info=None, accel_info=None, share_info=None):
        guest = self._inspected(instance)
        if not guest.running:
            self._start(guest, network_info)

    def reboot(self, context, instance, network_info, reboot_type,
               block_device_info=None, bad_volumes_callback=None,
               accel_info=None, share_info=None):
        """SOFT: graceful stop, then start. HARD: kill, then start."""
        guest = self._inspected(instance)
        guest.thaw()
        if guest.running and reboot_type == 'SOFT':
            guest.stop(CONF.pydock.graceful_stop_timeout)
        elif guest.running:
            guest.kill(CONF.pydock.engine_timeout)
        self._start(guest, network_info)

    def pause(self, instance):
        self._inspected(instance).freeze()

    def unpause(self, instance):
        self._inspected(instance).thaw()

    def suspend(self, context, instance):
        """Containers have no memory image to save: suspend freezes them."""
        self._inspected(instance).freeze()

    def resume(self, context, instance, network_info, block_device_info=None,
               share_info=None):
        """Thaw; the namespace survived the freeze, plugging is a check."""
        guest = self._inspected(instance)
        guest.thaw()
        if network_info:
            self._plug(guest, network_info)

    def resume_state_on_host_boot(self, context, instance, network_info,
                                  share_info, block_device_info=None):
        """After a host or engine restart: run it again if it stopped."""
        guest = self._inspected(instance)
        if not guest.thaw() and not guest.running:
            self._start(guest, network_info)

    # -- resize and cold migration (see nova_pydock.migration) -------------

    def migrate_disk_and_power_off(self, context, instance, dest, flavor,
                                   network_info, block_device_info=None,
                                   timeout=0, retry_interval=0):
        return self._resize.migrate_disk_and_power_off(
            context, instance, flavor, timeout, retry_interval)

    def finish_migration(self, context, migration, instance, disk_info,
                         network_info, image_meta, resize_instance,
                         allocations, block_device_info=None, power_on=True,
                         share_info=None):
        self._resize.finish_migration(context, instance, disk_info,
                                      network_info, power_on)

    def confirm_migration(self, context, migration, instance, network_info):
        self._resize.confirm_migration(instance)

    def finish_revert_migration(self, context, instance, network_info,
                                migration, block_device_info=None,
                                power_on=True, share_info=None):
        self._resize.finish_revert_migration(context, instance, network_info,
                                             power_on)

    def check_instance_shared_storage_local(self, context, instance):
        """Hosts share an instance's disk when they share the engine."""
        return {'engine_id': self._host.engine_identity()}

    def check_instance_shared_storage_remote(self, context, data):
        return data.get('engine_id') == self._host.engine_identity()

    # -- console, diagnostics -----------------------------------------------

    def get_console_output(self, context, instance):
        return consolelog.recent_output(self._inspected(instance),
                                        CONF.pydock)

    def get_serial_console(self, context, instance):
        """Where nova-serialproxy connects for the server's console."""
        self._inspected(instance)
        return self._consoles.console_for(instance)

    def get_diagnostics(self, instance):
        guest = self._inspected(instance)
        return diagnostics.from_engine(
            guest.details, guest.stats() if guest.running else {},
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
            guest = self._inspected(instance)
        except exception.InstanceNotFound as exc:
            raise exception.InstanceNotRunning(
                instance_id=instance.uuid) from exc
        self._images.snapshot(context, guest, image_id, update_task_state)

    def cache_image(self, context, image_id):
        meta = objects.ImageMeta.from_image_ref(context,
                                                self._images.image_api,
                                                image_id)
        return self._images.ensure(context, meta)[1]

    def manage_image_cache(self, context, all_instances):
        in_use = images.in_use(all_instances, self._hostname,
                               self._own_containers())
        min_age = CONF.image_cache.remove_unused_original_minimum_age_seconds
        self._images.prune(in_use, min_age)
