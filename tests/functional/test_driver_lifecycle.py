"""Every lifecycle call of PyDockDriver, checked on the real engine."""
import concurrent.futures
import io
import json
import os
import tarfile
import time
from unittest import mock
import uuid

from nova import exception
from nova.compute import power_state
from nova.compute import provider_tree
from nova.compute import task_states
from nova.compute import vm_states
from nova.virt import driver as nova_driver
from oslo_utils import timeutils

from nova_pydock import images as pydock_images
from nova_pydock import power_states
from tests.functional import driver_base


class TestSpawn(driver_base.DriverTestCase):

    def test_spawn_runs_hardened_labelled_container(self):
        instance = self.spawn(self.instance(memory_mb=96, vcpus=1))
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(instance).state)
        details = self.inspect(instance)
        self.assertTrue(details['State']['Running'])
        self.assertEqual('none', details['HostConfig']['NetworkMode'])
        self.assertEqual(instance.hostname, details['Config']['Hostname'])
        labels = details['Config']['Labels']
        self.assertEqual(instance.uuid,
                         labels['org.openstack.nova.instance-uuid'])
        self.assertEqual(self.host,
                         labels['org.openstack.nova.compute-host'])
        self.assertEqual(instance.project_id,
                         labels['org.openstack.nova.project-id'])
        host_config = details['HostConfig']
        self.assertEqual(96 * 1024 * 1024, host_config['Memory'])
        self.assertEqual(host_config['Memory'], host_config['MemorySwap'])
        self.assertFalse(host_config['Privileged'])
        self.assertIn('no-new-privileges:true', host_config['SecurityOpt'])
        self.assertEqual(['ALL'], host_config['CapDrop'])
        self.assertNotIn('NET_RAW', host_config['CapAdd'] or [])
        self.assertGreater(host_config['PidsLimit'], 0)
        self.assertEqual([], details['Mounts'])
        self.assertEqual(['sleep', '3600'], details['Config']['Cmd'])
        self.assertEqual([instance.name], self.driver.list_instances())
        self.assertEqual([instance.uuid], self.driver.list_instance_uuids())
        self.assertTrue(self.driver.instance_exists(instance))

    def test_spawn_powered_off(self):
        instance = self.spawn(power_on=False)
        self.assertEqual(power_state.SHUTDOWN,
                         self.driver.get_info(instance).state)
        self.driver.power_on(self.context, instance, [])
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(instance).state)

    def test_os_command_line_overrides_command(self):
        meta = self.glance.add(
            str(uuid.uuid4()), source_path=self.base_archive,
            properties={'os_command_line': "sh -c 'echo custom; sleep 600'"})
        instance = self.spawn(image_meta=meta)
        self.assertEqual(['sh', '-c', 'echo custom; sleep 600'],
                         self.inspect(instance)['Config']['Cmd'])
        self.assertIn(b'custom', self.console_until(
            instance, lambda output: b'custom' in output))

    def test_image_is_loaded_once_for_concurrent_spawns(self):
        instances = [self.instance() for _ in range(4)]
        for instance in instances:
            self.addCleanup(self.driver.destroy, self.context, instance, [])
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(
                lambda inst: self.driver.spawn(self.context, inst,
                                               self.image_meta, [], None, {},
                                               []), instances))
        self.assertEqual(1, self.glance.downloads[self.image_meta.id])
        tagged = self.api.inspect_image(
            pydock_images.reference(self.image_meta.id))
        for instance in instances:
            self.assertEqual(tagged['Id'], self.inspect(instance)['Image'])

    def test_image_already_cached_is_not_downloaded(self):
        self.spawn()
        self.spawn()
        self.assertEqual(1, self.glance.downloads[self.image_meta.id])


class TestSpawnFailures(driver_base.DriverTestCase):
    """Each bad input is a clear Nova error and leaves nothing behind."""

    def _assert_refused(self, error, meta, expected_text):
        instance = self.instance()
        exc = self.assertRaises(error, self.driver.spawn, self.context,
                                instance, meta, [], None, {}, [])
        self.assertIn(expected_text, str(exc))
        self.assertNoContainer(instance)
        self.assertEqual([], self.api.images(
            name=pydock_images.reference(meta.id)))
        return exc

    def test_non_docker_formats(self):
        for container_format, disk_format in (('bare', 'qcow2'),
                                              ('bare', 'raw'),
                                              ('docker', 'qcow2')):
            meta = self.glance.add(str(uuid.uuid4()), data=b'x' * 1024,
                                   container_format=container_format,
                                   disk_format=disk_format)
            self._assert_refused(exception.ImageUnacceptable, meta,
                                 'container_format must be "docker"')

    def test_garbage_archive(self):
        meta = self.glance.add(str(uuid.uuid4()), data=b'\x89garbage' * 500)
        self._assert_refused(exception.ImageUnacceptable, meta,
                             'not a docker save archive')

    def test_truncated_archive(self):
        with open(self.base_archive, 'rb') as f:
            data = f.read()
        meta = self.glance.add(str(uuid.uuid4()), data=data[:len(data) // 2])
        self._assert_refused(exception.ImageUnacceptable, meta,
                             'ends early')

    def test_path_traversal_member(self):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode='w') as tar:
            member = tarfile.TarInfo('../../../tmp/pydock-escape')
            member.size = 5
            tar.addfile(member, io.BytesIO(b'owned'))
        meta = self.glance.add(str(uuid.uuid4()), data=buf.getvalue())
        self._assert_refused(exception.ImageUnacceptable, meta,
                             'points outside the archive')

    def test_archive_that_engine_cannot_load(self):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode='w') as tar:
            data = json.dumps([{'Config': 'missing.json', 'RepoTags': [],
                                'Layers': ['nope/layer.tar']}]).encode()
            member = tarfile.TarInfo('manifest.json')
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
        meta = self.glance.add(str(uuid.uuid4()), data=buf.getvalue())
        self._assert_refused(exception.ImageUnacceptable, meta,
                             'is unacceptable')

    def test_image_without_command(self):
        tag = 'nocmd-%s' % uuid.uuid4().hex[:8]
        ref = driver_base.images.import_busybox(self.api, tag=tag,
                                                command=None)
        path = driver_base.images.save_archive(
            self.api, ref, self.useFixture(
                driver_base.fixtures.TempDir()).join('nocmd.tar'))
        driver_base.images.remove_if_present(self.api, ref)
        meta = self.glance.add(str(uuid.uuid4()), source_path=path)
        instance = self.instance()
        exc = self.assertRaises(exception.ImageUnacceptable,
                                self.driver.spawn, self.context, instance,
                                meta, [], None, {}, [])
        self.assertIn('the image has no command', str(exc))
        self.assertNoContainer(instance)

    def test_process_that_exits_at_once(self):
        # With a startup watch, spawn fails; without one (the default) the
        # lifecycle watcher reports the stop (test_driver_events).
        self.conf.config(startup_check_seconds=0.5, group='pydock')
        meta = self.glance.add(
            str(uuid.uuid4()), source_path=self.base_archive,
            properties={'os_command_line':
                        "sh -c 'echo config file missing >&2; exit 3'"})
        instance = self.instance()
        exc = self.assertRaises(exception.InstanceDeployFailure,
                                self.driver.spawn, self.context, instance,
                                meta, [], None, {}, [])
        self.assertIn('exited at start with code 3', str(exc))
        self.assertIn('config file missing', str(exc))
        self.assertNoContainer(instance)


class TestPower(driver_base.DriverTestCase):

    def _started_at(self, instance):
        return self.inspect(instance)['State']['StartedAt']

    def test_power_off_and_on(self):
        instance = self.spawn()
        self.driver.power_off(instance, timeout=5)
        state = self.inspect(instance)['State']
        self.assertEqual('exited', state['Status'])
        self.assertEqual(power_state.SHUTDOWN,
                         self.driver.get_info(instance).state)
        self.driver.power_on(self.context, instance, [])
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(instance).state)

    def test_power_state_sync_lists_the_host_once(self):
        """Nova's power state sync (``get_info`` with its cache allowed)
        costs one listing for all instances; a change made behind the
        driver's back shows once the listing is MAX_AGE old, at once
        without the cache."""
        first, second = self.spawn(), self.spawn()
        engine = self.driver._engine
        with mock.patch.object(engine, 'inspect_container',
                               wraps=engine.inspect_container) as inspect, \
                mock.patch.object(engine, 'list_containers',
                                  wraps=engine.list_containers) as listing:
            for instance in (first, second):
                self.assertEqual(power_state.RUNNING,
                                 self.driver.get_info(instance).state)
        self.assertEqual((0, 1), (inspect.call_count, listing.call_count))
        self.api.stop('nova-%s' % second.uuid, timeout=0)
        self.assertEqual(power_state.SHUTDOWN, self.driver.get_info(
            second, use_cache=False).state)
        time.sleep(power_states.MAX_AGE + 0.1)
        self.assertEqual(power_state.SHUTDOWN,
                         self.driver.get_info(second).state)
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(first).state)

    def test_power_off_is_graceful_first(self):
        meta = self.glance.add(
            str(uuid.uuid4()), source_path=self.base_archive,
            properties={'os_command_line':
                        "sh -c 'trap \"echo got TERM; exit 0\" TERM; "
                        "while true; do sleep 0.1; done'"})
        instance = self.spawn(image_meta=meta)
        self.driver.power_off(instance, timeout=10)
        state = self.inspect(instance)['State']
        self.assertEqual(0, state['ExitCode'])
        self.assertIn(b'got TERM',
                      self.driver.get_console_output(self.context, instance))

    def test_soft_and_hard_reboot(self):
        instance = self.spawn()
        for reboot_type in ('SOFT', 'HARD'):
            before = self._started_at(instance)
            self.driver.reboot(self.context, instance, [], reboot_type)
            self.assertNotEqual(before, self._started_at(instance))
            self.assertEqual(power_state.RUNNING,
                             self.driver.get_info(instance).state)

    def test_pause_and_unpause(self):
        instance = self.spawn()
        self.driver.pause(instance)
        self.assertTrue(self.inspect(instance)['State']['Paused'])
        self.assertEqual(power_state.PAUSED,
                         self.driver.get_info(instance).state)
        self.driver.unpause(instance)
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(instance).state)

    def test_suspend_freezes_and_resume_thaws(self):
        instance = self.spawn()
        instance.task_state = task_states.SUSPENDING
        self.driver.suspend(self.context, instance)
        self.assertTrue(self.inspect(instance)['State']['Paused'])
        instance.task_state = None
        instance.vm_state = vm_states.SUSPENDED
        self.assertEqual(power_state.SUSPENDED,
                         self.driver.get_info(instance).state)
        self.driver.resume(self.context, instance, [])
        instance.vm_state = vm_states.ACTIVE
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(instance).state)

    def test_pause_of_stopped_instance_is_refused(self):
        instance = self.spawn(power_on=False)
        self.assertRaises(exception.InstanceNotRunning, self.driver.pause,
                          instance)

    def test_resume_state_on_host_boot_restarts_stopped(self):
        instance = self.spawn()
        self.api.kill('nova-%s' % instance.uuid)
        self.api.wait('nova-%s' % instance.uuid, timeout=30)
        self.driver.resume_state_on_host_boot(self.context, instance, [],
                                              None)
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(instance).state)

    def test_calls_on_missing_container(self):
        instance = self.instance()
        self.assertRaises(exception.InstanceNotFound, self.driver.get_info,
                          instance)
        self.assertRaises(exception.InstanceNotFound, self.driver.power_off,
                          instance)
        self.assertFalse(self.driver.instance_exists(instance))
        # destroy is idempotent
        self.driver.destroy(self.context, instance, [])


class TestDestroyAndHosts(driver_base.DriverTestCase):

    def test_destroy_removes_container(self):
        instance = self.spawn()
        self.driver.destroy(self.context, instance, [])
        self.assertNoContainer(instance)
        self.driver.destroy(self.context, instance, [])

    def test_other_hosts_containers_are_invisible_and_untouched(self):
        mine = self.spawn()
        # A second nova-compute service on the same engine: the driver
        # keeps the host name it was built for.
        other_host = self.host + '-b'
        flags = self.useFixture(driver_base.config_fixture.Config(
            driver_base.CONF))
        flags.config(host=other_host)
        other = driver_base.pydock_driver.PyDockDriver(
            driver_base.fake_virt.FakeVirtAPI())
        other._images.image_api = self.glance
        other.init_host(other_host)
        flags.config(host=self.host)
        theirs = self.instance()
        theirs.host = other_host
        self.addCleanup(other.destroy, self.context, theirs, [])
        other.spawn(self.context, theirs, self.image_meta, [], None, {}, [])
        self.assertEqual([theirs.uuid], other.list_instance_uuids())
        self.assertEqual([mine.uuid], self.driver.list_instance_uuids())
        self.driver.destroy(self.context, mine, [])
        self.assertTrue(other.instance_exists(theirs))
        self.assertEqual([], self.driver.list_instance_uuids())

    def test_init_host_removes_half_made_containers(self):
        instance = self.instance()
        labels = driver_base.pydock_driver.container.labels_for(
            instance, self.host)
        self.driver._images.ensure(self.context, self.image_meta)
        self.api.create_container(
            pydock_images.reference(self.image_meta.id),
            name='nova-%s-spawning' % instance.uuid, labels=labels,
            network_disabled=True)
        self.assertEqual([], self.driver.list_instance_uuids())
        self.driver.init_host(self.host)
        self.assertEqual([], self.containers_of_host())

    def test_init_host_names_engine_when_absent(self):
        self.useFixture(driver_base.config_fixture.Config(
            driver_base.CONF)).config(
                engine_url='unix:///nonexistent/engine.sock', group='pydock')
        broken = driver_base.pydock_driver.PyDockDriver(
            driver_base.fake_virt.FakeVirtAPI())
        exc = self.assertRaises(exception.HypervisorUnavailable,
                                broken.init_host, self.host)
        self.assertIn('unix:///nonexistent/engine.sock', str(exc))


class TestConsoleDiagnosticsResources(driver_base.DriverTestCase):

    def test_console_output_is_bounded_recent_log(self):
        self.useFixture(driver_base.config_fixture.Config(
            driver_base.CONF)).config(console_log_max_bytes=2048,
                                      group='pydock')
        meta = self.glance.add(
            str(uuid.uuid4()), source_path=self.base_archive,
            properties={'os_command_line':
                        "sh -c 'i=0; while [ $i -lt 500 ]; do echo line $i;"
                        " i=$((i+1)); done; sleep 600'"})
        instance = self.spawn(image_meta=meta)
        reads = []

        def printed_all(output):
            reads.append(output)
            return output.endswith(b'line 499\n')
        output = self.console_until(instance, printed_all)
        # Every read is bounded, not only the last one.
        for read in reads:
            self.assertIsInstance(read, bytes)
            self.assertLessEqual(len(read), 2048)
        self.assertTrue(output.endswith(b'line 499\n'), output[-200:])
        self.assertNotIn(b'line 0\n', output)

    def test_diagnostics(self):
        instance = self.spawn()
        diagnostics = self.driver.get_diagnostics(instance)
        self.assertEqual('running', diagnostics['state'])
        self.assertGreater(diagnostics['memory_used_bytes'], 0)
        self.assertGreater(diagnostics['cpu_time_ns'], 0)
        self.assertGreaterEqual(diagnostics['pids'], 1)
        self.assertRaises(NotImplementedError,
                          self.driver.get_instance_diagnostics, instance)

    def test_available_resource_and_inventory(self):
        resources = self.driver.get_available_resource(self.host)
        self.assertEqual(self.host, resources['hypervisor_hostname'])
        self.assertEqual('docker', resources['hypervisor_type'])
        self.assertEqual(len(os.sched_getaffinity(0)),
                         resources['vcpus'])
        with open('/proc/meminfo') as f:
            total_kb = int(f.readline().split()[1])
        self.assertEqual(total_kb // 1024, resources['memory_mb'])
        self.assertGreater(resources['local_gb'], 0)
        self.assertEqual([self.host], self.driver.get_available_nodes())
        self.assertIn('up', self.driver.get_host_uptime())

    def test_provider_tree_inventory(self):
        self.useFixture(driver_base.config_fixture.Config(
            driver_base.CONF)).config(
                reserved_host_memory_mb=256, reserved_host_cpus=1,
                initial_cpu_allocation_ratio=4.0)
        tree = provider_tree.ProviderTree()
        tree.new_root(self.host, str(uuid.uuid4()))
        self.driver.update_provider_tree(tree, self.host)
        inventory = tree.data(self.host).inventory
        resources = self.driver.get_available_resource(self.host)
        self.assertEqual(resources['vcpus'], inventory['VCPU']['total'])
        self.assertEqual(1, inventory['VCPU']['reserved'])
        self.assertEqual(4.0, inventory['VCPU']['allocation_ratio'])
        self.assertEqual(resources['memory_mb'],
                         inventory['MEMORY_MB']['total'])
        self.assertEqual(256, inventory['MEMORY_MB']['reserved'])
        self.assertEqual(resources['local_gb'], inventory['DISK_GB']['total'])

    def test_builds_do_not_ask_the_engine_for_its_data_root(self):
        # Nova reads the inventory on every claim; the engine's data root
        # is asked again only at the periodic resource update.
        engine = self.driver._engine
        real_info = engine.info
        asked = []
        self.patch(engine, 'info', lambda: asked.append(1) or real_info())
        tree = provider_tree.ProviderTree()
        tree.new_root(self.host, str(uuid.uuid4()))
        for _ in range(3):
            self.driver.update_provider_tree(tree, self.host)
        self.assertEqual([], asked)
        self.driver.get_available_resource(self.host)
        self.assertEqual(1, len(asked))

    def test_capabilities_are_honest(self):
        caps = self.driver.capabilities
        self.assertTrue(caps['has_imagecache'])
        self.assertTrue(caps['supports_image_type_raw'])
        self.assertFalse(caps['supports_image_type_qcow2'])
        self.assertTrue(caps['supports_evacuate'])
        self.assertEqual(set(nova_driver.ComputeDriver.capabilities),
                         set(caps))


class TestSnapshotAndImageCache(driver_base.DriverTestCase):

    def test_snapshot_round_trip(self):
        instance = self.spawn()
        code, _ = self.exec_in(instance, 'sh', '-c',
                               'echo from-snapshot > /root/marker')
        self.assertEqual(0, code)
        snapshot_id = str(uuid.uuid4())
        states = []
        self.driver.snapshot(self.context, instance, snapshot_id,
                             lambda **kw: states.append(kw['task_state']))
        self.assertEqual([task_states.IMAGE_PENDING_UPLOAD,
                          task_states.IMAGE_UPLOADING], states)
        self.assertEqual('docker',
                         self.glance.metadata[snapshot_id]['container_format'])
        # A second server boots from the uploaded archive, on a clean engine.
        driver_base.images.remove_if_present(
            self.api, pydock_images.reference(snapshot_id))
        meta = self.glance.meta(snapshot_id)
        clone = self.spawn(image_meta=meta)
        code, output = self.exec_in(clone, 'cat', '/root/marker')
        self.assertEqual((0, b'from-snapshot\n'), (code, output))
        self.assertEqual(1, self.glance.downloads[snapshot_id])

    def test_snapshot_of_missing_container(self):
        self.assertRaises(exception.InstanceNotRunning, self.driver.snapshot,
                          self.context, self.instance(), str(uuid.uuid4()),
                          lambda **kw: None)

    def test_manage_image_cache_keeps_used_removes_unused(self):
        instance = self.spawn()
        unused = self.glance.add(str(uuid.uuid4()),
                                 source_path=self.base_archive)
        self.assertTrue(self.driver.cache_image(self.context, unused.id))
        self.assertFalse(self.driver.cache_image(self.context, unused.id))
        self.useFixture(driver_base.config_fixture.Config(
            driver_base.CONF)).config(
                remove_unused_original_minimum_age_seconds=0,
                group='image_cache')
        # The engine is shared with tests running in parallel: let the
        # prune see this test's two images only, not remove theirs.
        own = {pydock_images.reference(unused.id),
               pydock_images.reference(self.image_meta.id)}
        engine = self.driver._images._engine
        list_images = engine.list_images
        self.patch(engine, 'list_images', lambda reference: [
            found for found in list_images(reference)
            if own & set(found.get('RepoTags') or ())])
        self.driver.manage_image_cache(self.context, [instance])
        self.assertEqual([], self.api.images(
            name=pydock_images.reference(unused.id)))
        self.assertNotEqual([], self.api.images(
            name=pydock_images.reference(self.image_meta.id)))

    def test_use_refreshes_the_last_use_time_at_most_once_a_minute(self):
        cache = self.driver._images

        def last_use(details):
            return timeutils.parse_isotime(details['Metadata']['LastTagTime'])

        loaded, fetched = cache.ensure(self.context, self.image_meta)
        self.assertTrue(fetched)
        again, fetched = cache.ensure(self.context, self.image_meta)
        self.assertFalse(fetched)
        self.assertEqual(last_use(loaded), last_use(again))
        cache.last_use_resolution = 0
        cache.ensure(self.context, self.image_meta)
        refreshed = self.api.inspect_image(
            pydock_images.reference(self.image_meta.id))
        self.assertGreater(last_use(refreshed), last_use(loaded))

    def test_manage_image_cache_honours_minimum_age(self):
        unused = self.glance.add(str(uuid.uuid4()),
                                 source_path=self.base_archive)
        self.driver.cache_image(self.context, unused.id)
        self.useFixture(driver_base.config_fixture.Config(
            driver_base.CONF)).config(
                remove_unused_original_minimum_age_seconds=3600,
                group='image_cache')
        self.driver.manage_image_cache(self.context, [])
        self.assertNotEqual([], self.api.images(
            name=pydock_images.reference(unused.id)))
