"""A user's container lifecycle through Horizon, in headless Chromium,
against tools/cloud (see cloud.py for which cloud), checked against what
Nova and the engine hold.

The steps share one browser session, each a test of its own, and each
makes what it needs: a step logs in as the user it needs, and one that
acts on the server finds the server an earlier step made or boots one
through the CLI (once: when that fails, the steps that need it skip). So
stestr's name order is the usual order, not a requirement: any step runs
alone (``tox -e browser -- test_07``). ``tox -e browser`` runs them all,
``tox -e browser-ci`` the core (tests/browser/ci.txt: log in, launch
through the wizard, the Log and Console tabs, stop and start, delete;
CI runs it in ``tox -e tempest-browser-ci``). A screenshot
of every step lands in $PYDOCK_BROWSER_ARTIFACTS
(/var/tmp/pydock-browser-artifacts), ``failed-*.png`` for a wait that
timed out; the page timings are printed at the end and written to
``timings.txt`` there.
"""
import os
import time
import types

import testtools

from tests.browser import cloud as cloud_mod
from tests.browser import dashboard

ARTIFACTS = os.environ.get('PYDOCK_BROWSER_ARTIFACTS',
                           '/var/tmp/pydock-browser-artifacts')  # noqa: S108
NAME = 'web-%d' % os.getpid()
SNAPSHOT = NAME + '-snap'
#: a user with the member role only in the admin project: what a user
#: who is no cloud admin sees (Nova shows admins a fault's traceback)
MEMBER = NAME + '-member'
MEMBER_PASSWORD = 'pw-' + NAME

#: the suite's cloud and browser, made once for all steps
SESSION = types.SimpleNamespace(cloud=None, ui=None, user=None,
                                member=False, boot_failed=None)
TIMINGS = {}
#: what earlier steps made: server ids by name
MADE = {}
#: Nova's instance actions that the Action Log tab names otherwise than
#: title-cased
HORIZON_ACTIONS = {'createimage': 'Create Image',
                   'confirmresize': 'Confirm Resize'}


def setUpModule():
    if os.geteuid() != 0 or not os.path.exists('/etc/debian_version'):
        raise testtools.TestCase.skipException('needs root on Debian')
    os.makedirs(ARTIFACTS, exist_ok=True)
    SESSION.cloud = cloud_mod.Cloud()
    TIMINGS['tools/cloud up'] = SESSION.cloud.start()
    t = time.monotonic()
    SESSION.ui = dashboard.Dashboard(SESSION.cloud.dashboard_url, ARTIFACTS)
    TIMINGS['browser start'] = time.monotonic() - t


def tearDownModule():
    cloud, ui = SESSION.cloud, SESSION.ui
    try:
        if ui:
            ui.quit()
        for server_id in MADE.values():
            cloud.openstack('server', 'delete', '--wait', server_id,
                            check=False, parse=False)
        if cloud:
            cloud.openstack('image', 'delete', SNAPSHOT, check=False,
                            parse=False)
        if SESSION.member:
            cloud.openstack('user', 'delete', MEMBER, check=False,
                            parse=False)
    finally:
        if cloud:
            cloud.stop()
        lines = ['%-28s %6.1f s' % kv for kv in TIMINGS.items()]
        with open(os.path.join(ARTIFACTS, 'timings.txt'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
        for line in lines:
            cloud_mod.log('timing: ' + line)
        cloud_mod.log('screenshots in %s' % ARTIFACTS)


class DashboardTest(testtools.TestCase):
    """The issue's user steps, in order."""

    def setUp(self):
        super().setUp()
        self.ui = SESSION.ui
        self.cloud = SESSION.cloud
        self.ui.browser.switch_to.default_content()

    def server_id(self):
        """The suite's server, Active, with the admin logged in: the one
        the launch step made, else one booted through the CLI."""
        self.log_in_as('admin')
        if NAME not in MADE:
            if SESSION.boot_failed:
                self.skipTest('no server: %s' % SESSION.boot_failed)
            try:
                MADE[NAME] = self.cloud.openstack(
                    'server', 'create', '--image', 'busybox', '--flavor',
                    'c1.small', '--network', 'demo', '--wait', NAME)['id']
            except AssertionError as exc:
                SESSION.boot_failed = str(exc)
                raise
        return MADE[NAME]

    def settle(self, server_id, status, power_state, engine_state, shot):
        """After a row action: Horizon reloads the table page and then
        updates the row by itself until Nova is done."""
        t = time.monotonic()
        self.ui.wait_status(server_id, status, power_state)
        self.assertEqual(engine_state, self.cloud.container(server_id)[1])
        self.ui.shot(shot)
        return time.monotonic() - t

    def log_in_as(self, user, again=False):
        """Log in through the form as ``user`` (admin or MEMBER), unless
        the browser's session is already that user's (``again``: even
        then)."""
        if SESSION.user == user and not again:
            return None
        if user == MEMBER and not SESSION.member:
            self.cloud.openstack('user', 'create', '--password',
                                 MEMBER_PASSWORD, MEMBER)
            SESSION.member = True
            self.cloud.openstack('role', 'add', '--user', MEMBER,
                                 '--project', 'admin', 'member', parse=False)
        if SESSION.user:
            self.ui.forget_session()
        SESSION.user = None
        password = (MEMBER_PASSWORD if user == MEMBER
                    else self.cloud.settings['admin_password'])
        seconds = self.ui.login(user, password, '/project/instances/')
        SESSION.user = user
        return seconds

    def test_01_login(self):
        TIMINGS['login'] = self.log_in_as('admin', again=True)
        self.assertIn('Instances', self.ui.browser.title)
        self.ui.shot('01-logged-in')

    def test_02_launch(self):
        self.log_in_as('admin')
        # the suite's server, unless a step before booted it through the CLI
        name = NAME + '-wizard' if NAME in MADE else NAME
        t = time.monotonic()
        self.ui.launch(name, 'busybox', 'c1.small', 'demo',
                       shot='02-launch-source')
        row = self.ui.row_by_name(name)
        server_id = row.get_attribute('data-object-id')
        MADE[name] = server_id
        cells = self.ui.wait_status(server_id, 'Active', 'Running')
        TIMINGS['launch to Active'] = time.monotonic() - t
        server = self.cloud.server(server_id)
        ip = server['addresses']['demo'][0]
        self.assertIn(ip, cells['IP Address'])
        self.assertEqual('busybox', cells['Image Name'])
        self.assertEqual('c1.small', cells['Flavor'])
        self.assertEqual('running', self.cloud.container(server_id)[1])
        self.ui.shot('02-instance-active')

    def test_03_log_tab(self):
        server_id = self.server_id()
        self.ui.open('/project/instances/%s/?tab=instance_details__log'
                     % server_id)
        self.ui.wait(lambda _b: 'serving http on port 80'
                     in self.ui.text(), 'the container output in the Log tab')
        self.ui.shot('03-log-tab')

    def test_04_console_tab(self):
        server_id = self.server_id()
        t = time.monotonic()
        terminal = self.ui.console_terminal(server_id)
        self.ui.wait(lambda _b: '#' in terminal.text, 'a shell prompt')
        TIMINGS['open console'] = time.monotonic() - t
        self.ui.type_in_terminal(
            terminal, 'echo typed-$((6*7)) > /www/typed.txt; '
            'cat /www/typed.txt\n')
        self.ui.wait(lambda _b: 'typed-42' in terminal.text,
                     'the command output in the terminal')
        name = self.cloud.container(server_id)[0]
        res = self.cloud.container_exec(name, 'cat', '/www/typed.txt')
        self.assertEqual('typed-42\n', res.stdout)
        self.ui.browser.switch_to.default_content()
        self.ui.shot('04-console-tab')

    def test_05_stop_start(self):
        server_id = self.server_id()
        self.ui.open('/project/instances/')
        self.ui.row_action(server_id, 'stop')
        TIMINGS['stop'] = self.settle(server_id, 'Shutoff', 'Shut Down',
                                      'exited', '05-stopped')
        self.ui.row_action(server_id, 'start')
        TIMINGS['start'] = self.settle(server_id, 'Active', 'Running',
                                       'running', '05-started')

    def test_06_reboot_soft_hard(self):
        server_id = self.server_id()
        self.ui.open('/project/instances/')
        for action in ('soft_reboot', 'reboot'):
            started = self.cloud.container_started(server_id)
            self.ui.row_action(server_id, action)
            # Active before and after: wait for the engine's new start
            self.ui.wait(lambda _b, s=started: self.cloud.container_started(
                server_id) not in (s, ''), '%s restarting the container'
                % action, dashboard.STATUS_TIMEOUT)
            self.settle(server_id, 'Active', 'Running', 'running',
                        '06-' + action)

    def toggle_and_back(self, action, status, power_state, shot):
        """A toggle action (pause, suspend) and again (its Resume); the
        engine holds the container frozen in between."""
        server_id = self.server_id()
        self.ui.open('/project/instances/')
        self.ui.row_action(server_id, action)
        self.settle(server_id, status, power_state, 'paused', shot)
        self.ui.row_action(server_id, action)
        self.settle(server_id, 'Active', 'Running', 'running',
                    shot + '-resumed')

    def test_07_pause_resume(self):
        self.toggle_and_back('pause', 'Paused', 'Paused', '07-paused')

    def test_08_suspend_resume(self):
        self.toggle_and_back('suspend', 'Suspended', 'Suspended',
                             '08-suspended')

    def test_09_snapshot_and_launch_it(self):
        server_id = self.server_id()
        self.ui.open('/project/instances/')
        self.ui.row_action(server_id, 'snapshot')
        form = self.ui.visible('.modal form', 'the Create Snapshot form')
        form.find_element('id', 'id_name').send_keys(SNAPSHOT)
        form.find_element('css selector', '.btn-primary').click()
        self.ui.wait(lambda b: '/project/images' in b.current_url,
                     'the images page after the snapshot')
        self.ui.wait(lambda _b: self.cloud.openstack(
            'image', 'show', SNAPSHOT, check=False) and self.cloud.openstack(
            'image', 'show', SNAPSHOT)['status'] == 'active',
            'snapshot %s active in Glance' % SNAPSHOT,
            timeout=dashboard.STATUS_TIMEOUT)
        image = self.cloud.openstack('image', 'show', SNAPSHOT)
        self.assertEqual('docker', image['container_format'])
        self.ui.shot('09-snapshot')
        self.ui.launch(SNAPSHOT, SNAPSHOT, 'c1.small', 'demo',
                       source='Instance Snapshot',
                       shot='09-launch-snapshot-source')
        snap_id = self.ui.row_by_name(SNAPSHOT).get_attribute(
            'data-object-id')
        MADE[SNAPSHOT] = snap_id
        self.ui.wait_status(snap_id, 'Active', 'Running')
        self.assertEqual('running', self.cloud.container(snap_id)[1])
        self.ui.shot('09-snapshot-launched')

    def test_10_delete(self):
        self.server_id()
        for name in sorted(MADE, reverse=True):
            server_id = MADE[name]
            self.ui.open('/project/instances/')
            self.ui.row_action(server_id, 'delete')
            self.ui.wait(lambda b, i=server_id: not b.find_elements(
                'id', 'instances__row__%s' % i),
                'the row of %s gone' % name, dashboard.STATUS_TIMEOUT)
            del MADE[name]
            self.assertIsNone(self.cloud.container(server_id))
        self.ui.shot('10-deleted')

    def launch_expecting_fault(self, name, image, flavor):
        """As a project member, launch through the wizard a server Nova
        cannot build; returns the fault as the instance's Overview tab
        shows it."""
        self.log_in_as(MEMBER)
        self.ui.launch(name, image, flavor, 'demo')
        server_id = self.ui.row_by_name(name).get_attribute('data-object-id')
        MADE[name] = server_id
        self.ui.wait_cells(server_id, lambda c: c.get('Status') == 'Error',
                           '%s in Error' % name)
        self.ui.open('/project/instances/%s/' % server_id)
        overview = self.ui.visible('.detail', 'the Overview tab').text
        self.assertNotIn('Traceback', self.ui.text())
        self.assertIsNone(self.cloud.container(server_id))
        self.cloud.openstack('server', 'delete', '--wait', server_id,
                             parse=False)
        del MADE[name]
        return overview

    def test_11_not_a_docker_image(self):
        image = NAME + '-not-docker'
        path = os.path.join(ARTIFACTS, image)
        with open(path, 'wb') as f:
            f.write(b'this is no docker save archive\n' * 64)
        self.cloud.openstack('image', 'create', '--container-format',
                             'docker', '--disk-format', 'raw', '--file',
                             path, image)
        self.addCleanup(self.cloud.openstack, 'image', 'delete', image,
                        check=False, parse=False)
        fault = self.launch_expecting_fault(image, image, 'c1.small')
        self.ui.shot('11-not-a-docker-image')
        self.assertIn('not a docker save archive', fault)

    def test_12_flavor_spec_that_cannot_work(self):
        # /dev/shm lives in the container's memory: it cannot be larger.
        # (A spec only this host refuses, pydock:cap_add beyond its
        # allowed_cap_add, makes Nova try other hosts instead, and the
        # fault says "Exhausted all hosts".) The admin sets it in the
        # flavor's metadata dialog, which checks only the metadefs' limits.
        flavor = NAME + '-shm'
        flavor_id = self.cloud.openstack(
            'flavor', 'create', '--ram', '256', '--vcpus', '1', '--disk',
            '1', flavor)['id']
        self.addCleanup(self.cloud.openstack, 'flavor', 'delete', flavor,
                        check=False, parse=False)
        self.set_flavor_spec(flavor_id, 'shm size mb', 'pydock:shm_size_mb',
                             '512')
        self.assertEqual({'pydock:shm_size_mb': '512'}, self.cloud.openstack(
            'flavor', 'show', flavor)['properties'])
        fault = self.launch_expecting_fault(flavor, 'busybox', flavor)
        self.ui.shot('12-flavor-spec-refused')
        self.assertIn('pydock:shm_size_mb=512 exceeds the flavor\'s '
                      'memory_mb=256', fault)

    def test_13_admin_hypervisors(self):
        self.log_in_as('admin')
        self.ui.open('/admin/hypervisors/')
        host = self.cloud.settings['host']
        table = self.ui.visible('table#hypervisors', 'the hypervisors table')
        hypervisor = self.cloud.openstack('hypervisor', 'show', host)
        row = table.find_element('css selector', 'tbody tr').text
        self.assertIn(host, row)
        self.assertIn(hypervisor['hypervisor_type'], row)
        self.assertIn('vCPU Usage', self.ui.text())
        self.ui.shot('13-admin-hypervisors')

    def flavor_metadata(self, flavor_id):
        """Admin -> Flavors -> Update Metadata of the flavor, with the
        pydock namespace opened; returns the dialog."""
        self.log_in_as('admin')
        self.ui.open('/admin/flavors/')
        row = self.ui.visible('tr[data-object-id="%s"]' % flavor_id,
                              'the flavor %s row' % flavor_id)
        row.find_element('css selector', '.dropdown-toggle').click()
        self.ui.visible('#flavors__row_%s__action_update_metadata'
                        % flavor_id, within=row).click()
        modal = self.ui.visible('.modal-dialog', 'the metadata dialog')
        self.ui.wait(lambda _b: 'nova-pydock containers' in modal.text,
                     'the pydock namespace in the dialog')
        modal.find_element(
            'xpath', './/*[normalize-space(.)="nova-pydock containers"]'
        ).click()
        return modal

    def set_flavor_spec(self, flavor_id, label, key, value):
        """Add the namespace's property ``label`` (``key``) with ``value``
        in the metadata dialog and save; a value beyond the metadefs'
        limits is refused in the dialog first."""
        modal = self.flavor_metadata(flavor_id)
        self.ui.visible('li.list-group-item', within=modal)
        modal.find_element(
            'xpath', './/li[.//span[normalize-space(.)="%s"]]//a[span['
            'contains(@class, "fa-plus")]]' % label).click()
        item = modal.find_element(
            'xpath', './/div[contains(@class, "metadata-tree-item")][.//span['
            '@title="%s"]]' % key)
        field = item.find_element('css selector', 'input[name=property]')
        save = modal.find_element('css selector',
                                  '.modal-footer .btn-primary')
        field.send_keys('0')
        self.ui.wait(lambda _b: not save.is_enabled() and 'has-error' in
                     item.find_element('css selector', '.input-group')
                     .get_attribute('class'), 'the dialog refusing 0')
        self.ui.shot('12-metadata-dialog-refuses-0')
        field.clear()
        field.send_keys(value)
        self.ui.wait(lambda _b: save.is_enabled(), 'Save enabled')
        save.click()
        self.ui.wait(lambda b: not [m for m in b.find_elements(
            'css selector', '.modal-dialog') if m.is_displayed()],
            'the metadata dialog closed')

    def test_14_flavor_metadata_lists_pydock_specs(self):
        flavor = self.cloud.openstack('flavor', 'show', 'c1.small')
        modal = self.flavor_metadata(flavor['id'])
        # c1.small sets pids_limit and shm_size_mb: they are listed as the
        # flavor's, the others of the namespace as available
        self.ui.wait(lambda _b: 'cap add' in modal.text
                     and 'ulimit nofile' in modal.text
                     and 'pydock:pids_limit' in modal.text,
                     'the pydock: keys listed')
        self.ui.shot('14-flavor-metadata')

    def test_15_action_log_tab(self):
        server_id = self.server_id()
        self.ui.open('/project/instances/%s/?tab=instance_details__audit'
                     % server_id)
        table = self.ui.visible('table#audit', 'the Action Log table')
        events = self.cloud.openstack('server', 'event', 'list', server_id)
        self.assertIn('create', [e['Action'] for e in events])
        self.assertIn('Displaying %d item' % len(events), table.text)
        for event in events:
            row = table.find_element(
                'xpath', './/tr[td[normalize-space(.)="%s"]]'
                % event['Request ID']).text
            action = event['Action']
            self.assertIn(HORIZON_ACTIONS.get(action, action.title()), row)
        self.ui.shot('15-action-log')

    def test_16_session_survives_dashboard_restart(self):
        settings = self.cloud.horizon_settings()
        self.assertIn("SESSION_ENGINE = 'django.contrib.sessions.backends."
                      "file'", settings)
        server_id = self.server_id()
        before = self.cloud.service_pid('horizon')
        self.cloud.restart('horizon')
        self.assertNotEqual(before, self.cloud.service_pid('horizon'))
        self.ui.open('/project/instances/%s/' % server_id)
        self.assertNotIn('/auth/login', self.ui.browser.current_url)
        self.ui.wait(lambda _b: NAME in self.ui.text(),
                     'the instance page, still logged in')
        self.ui.shot('16-after-dashboard-restart')
