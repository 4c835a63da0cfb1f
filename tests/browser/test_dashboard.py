"""Horizon against tools/cloud, in Debian's Chromium (headless) through
chromedriver and Selenium: what a user sees, checked against the engine.

The suite runs ``tools/cloud up`` (idempotent: it reuses a cloud that is
already up in its state directory, else brings one up from nothing; the
machine-wide cloud test lock is held meanwhile). Settings:
PYDOCK_BROWSER_CLOUD_DIR (default /var/tmp/pydock-browser-cloud),
PYDOCK_BROWSER_OFFSET (300), PYDOCK_BROWSER_SUBNET (198.19.210.0/24),
PYDOCK_BROWSER_VENV (/opt/pydock-cloud/venv-browser). A screenshot per
step lands in $PYDOCK_BROWSER_ARTIFACTS (default
/var/tmp/pydock-browser-artifacts), printed at the end with the timings.
"""
import fcntl
import json
import os
import subprocess
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
import testtools

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
CLOUD = os.path.join(ROOT, 'tools', 'cloud')
LOCK = '/var/lock/pydock-cloud-test.lock'
STATE = os.environ.get('PYDOCK_BROWSER_CLOUD_DIR',
                       '/var/tmp/pydock-browser-cloud')  # noqa: S108
ARTIFACTS = os.environ.get('PYDOCK_BROWSER_ARTIFACTS',
                           '/var/tmp/pydock-browser-artifacts')  # noqa: S108
CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu',
                  '--disable-quic', '--no-first-run',
                  '--disable-background-networking',
                  '--disable-component-update', '--disable-sync',
                  '--window-size=1400,1000']
PAGE_TIMEOUT = 120


def log(text):
    sys.stderr.write('[browser %s] %s\n' % (time.strftime('%H:%M:%S'), text))
    sys.stderr.flush()


def cloud_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith('OS_')}
    env.update(
        PYDOCK_CLOUD_DIR=STATE,
        PYDOCK_CLOUD_PORT_OFFSET=os.environ.get('PYDOCK_BROWSER_OFFSET',
                                                '300'),
        PYDOCK_CLOUD_SUBNET=os.environ.get('PYDOCK_BROWSER_SUBNET',
                                           '198.19.210.0/24'),
        PYDOCK_CLOUD_NAME='pydock-browser',
        PYDOCK_CLOUD_SOURCE='worktree',
        PYDOCK_CLOUD_VENV=os.environ.get(
            'PYDOCK_BROWSER_VENV', '/opt/pydock-cloud/venv-browser'))
    return env


class DashboardTest(testtools.TestCase):
    """One user session through the dashboard, step by step."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.timings = {}
        os.makedirs(ARTIFACTS, exist_ok=True)
        cls._lock = open(LOCK, 'w')  # noqa: SIM115 - held for the class
        fcntl.flock(cls._lock, fcntl.LOCK_EX)
        t = time.monotonic()
        res = subprocess.run([CLOUD, 'up'], env=cloud_env(), text=True,
                             capture_output=True, timeout=3600, check=False)
        if res.returncode != 0:
            raise RuntimeError('tools/cloud up failed:\n%s%s' % (
                res.stdout[-3000:], res.stderr[-3000:]))
        cls.timings['cloud up'] = time.monotonic() - t
        with open(os.path.join(STATE, 'cloud.json')) as f:
            cls.settings = json.load(f)
        cls.url = 'http://127.0.0.1:%d' % cls.settings['ports']['horizon']
        options = webdriver.ChromeOptions()
        options.binary_location = '/usr/bin/chromium'
        for flag in CHROMIUM_FLAGS + ['--user-data-dir=' + tempfile.mkdtemp(
                prefix='pydock-chromium-')]:
            options.add_argument(flag)
        cls.browser = webdriver.Chrome(
            service=Service('/usr/bin/chromedriver'), options=options)
        cls.browser.set_page_load_timeout(PAGE_TIMEOUT)

    @classmethod
    def tearDownClass(cls):
        cls.browser.quit()
        cls._lock.close()
        for name, seconds in cls.timings.items():
            log('timing: %s %.1fs' % (name, seconds))
        log('screenshots in %s' % ARTIFACTS)
        super().tearDownClass()

    # helpers ---------------------------------------------------------------
    def shot(self, name):
        self.browser.save_screenshot(os.path.join(ARTIFACTS, name + '.png'))

    def wait_for(self, locator, timeout=PAGE_TIMEOUT):
        return WebDriverWait(self.browser, timeout).until(
            ec.presence_of_element_located(locator))

    def openstack(self, *args):
        env = dict(cloud_env(), OS_CLOUD=self.settings['name'],
                   OS_CLIENT_CONFIG_FILE=os.path.join(STATE, 'clouds.yaml'))
        res = subprocess.run(
            [os.path.join(self.settings['venv'], 'bin', 'openstack')]
            + list(args) + ['-f', 'json'], env=env, capture_output=True,
            text=True, timeout=300, check=False)
        self.assertEqual(0, res.returncode, res.stderr[-2000:])
        return json.loads(res.stdout) if res.stdout.strip() else None

    def login(self):
        t = time.monotonic()
        self.browser.get(self.url + '/auth/login/')
        if '/auth/login' not in self.browser.current_url:
            return  # the session of an earlier step is still valid
        self.wait_for((By.ID, 'id_username')).send_keys('admin')
        self.browser.find_element(By.ID, 'id_password').send_keys(
            self.settings['admin_password'])
        self.browser.find_element(By.ID, 'loginBtn').click()
        self.wait_for((By.CSS_SELECTOR, 'a.logout, #user-menu, '
                       '.dropdown-toggle'))
        self.timings.setdefault('login', time.monotonic() - t)

    # steps -----------------------------------------------------------------
    def test_01_login(self):
        self.login()
        self.shot('01-login')
        self.assertNotIn('/auth/login', self.browser.current_url)

    def test_02_instance_active_with_ip_and_log(self):
        self.login()
        name = 'browser-%d' % os.getpid()
        t = time.monotonic()
        server = self.openstack('server', 'create', '--flavor', 'c1.small',
                                '--image', 'busybox', '--network', 'demo',
                                '--wait', name)
        self.addCleanup(self.openstack, 'server', 'delete', '--wait',
                        server['id'])
        self.browser.get(self.url + '/project/instances/')
        row = self.wait_for((By.XPATH, '//tr[.//a[text()="%s"]]' % name))
        WebDriverWait(self.browser, PAGE_TIMEOUT).until(
            lambda b: 'Active' in b.find_element(
                By.XPATH, '//tr[.//a[text()="%s"]]' % name).text)
        self.timings['launch to Active'] = time.monotonic() - t
        row = self.browser.find_element(
            By.XPATH, '//tr[.//a[text()="%s"]]' % name)
        ip = server['addresses']['demo'][0]
        self.assertIn(ip, row.text)
        self.shot('02-instance-active')
        engine = subprocess.run(
            ['docker', 'ps', '--filter',
             'label=org.openstack.nova.instance-uuid=%s' % server['id'],
             '--format', '{{.State}}'], capture_output=True, text=True,
            check=True).stdout.split()
        self.assertEqual(['running'], engine)
        self.browser.get(self.url + '/project/instances/%s/?tab='
                         'instance_details__log' % server['id'])
        WebDriverWait(self.browser, PAGE_TIMEOUT).until(
            lambda b: 'busybox: httpd on port 80' in b.page_source)
        self.shot('03-instance-log')

    def test_03_admin_hypervisors(self):
        self.login()
        self.browser.get(self.url + '/admin/hypervisors/')
        self.wait_for((By.XPATH, '//*[contains(text(), "%s")]'
                       % self.settings['host']))
        self.shot('04-admin-hypervisors')
        self.assertIn('VCPU Usage', self.browser.page_source)

    def test_04_flavor_metadata_lists_pydock_specs(self):
        namespace = self.openstack('image', 'metadef', 'namespace', 'show',
                                   'OS::Compute::PyDock')
        self.assertEqual('OS::Compute::PyDock', namespace['namespace'])
        self.login()
        flavor = self.openstack('flavor', 'show', 'c1.small')
        self.browser.get(self.url + '/admin/flavors/%s/update_metadata/'
                         % flavor['id'])
        WebDriverWait(self.browser, PAGE_TIMEOUT).until(
            lambda b: 'nova-pydock containers' in b.page_source)
        self.shot('05-flavor-metadata')
