"""Horizon as a user drives it, in Debian's headless Chromium.

One browser (and one login) serves the whole suite: starting Chromium
and logging in cost seconds each. Every wait is explicit, bounded and
says what it waited for; there is no implicit wait, so a missing element
fails at once instead of after a page timeout.
"""
import os
import tempfile
import time

from selenium import webdriver
from selenium.common import exceptions
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = '/usr/bin/chromium'
CHROMEDRIVER = '/usr/bin/chromedriver'
CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu',
                  '--disable-dev-shm-usage', '--no-first-run',
                  '--disable-background-networking',
                  '--disable-component-update', '--disable-sync',
                  '--disable-extensions', '--window-size=1280,860']
#: A page of this dashboard on this machine loads in 1-15 s under load.
PAGE_TIMEOUT = 90
#: Nova's work seen through the table's own row updates (every 2.5 s).
STATUS_TIMEOUT = 180


class Dashboard:
    def __init__(self, url, artifacts):
        self.url = url
        self.artifacts = artifacts
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        self._profile = tempfile.mkdtemp(prefix='pydock-chromium-')
        for flag in CHROMIUM_FLAGS + ['--user-data-dir=' + self._profile]:
            options.add_argument(flag)
        self.browser = webdriver.Chrome(service=Service(CHROMEDRIVER),
                                        options=options)
        self.browser.set_page_load_timeout(PAGE_TIMEOUT)

    def quit(self):
        self.browser.quit()

    # the basics --------------------------------------------------------------
    def shot(self, name):
        path = os.path.join(self.artifacts, name + '.png')
        self.browser.save_screenshot(path)
        return path

    def wait(self, condition, what, timeout=PAGE_TIMEOUT):
        try:
            return WebDriverWait(self.browser, timeout, 0.25).until(condition)
        except exceptions.TimeoutException:
            self.shot('failed-' + what.replace(' ', '-')[:60])
            raise AssertionError('%s: not after %ds (page %s)' % (
                what, timeout, self.browser.current_url)) from None

    def visible(self, css, what=None, within=None, timeout=PAGE_TIMEOUT):
        root = within or self.browser
        return self.wait(
            lambda _b: next((e for e in root.find_elements(By.CSS_SELECTOR,
                                                           css)
                             if e.is_displayed()), None),
            what or css, timeout)

    def open(self, path):
        """Load a page; returns the seconds it took to be complete."""
        t = time.monotonic()
        self.browser.get(self.url + path)
        return time.monotonic() - t

    def text(self):
        return self.browser.find_element(By.TAG_NAME, 'body').text

    def login(self, user, password, next_path):
        """Log in through the form; returns the seconds to the first
        page after it."""
        self.open('/auth/login/?next=' + next_path)
        self.visible('#id_username').send_keys(user)
        self.browser.find_element(By.ID, 'id_password').send_keys(password)
        t = time.monotonic()
        self.browser.find_element(By.ID, 'loginBtn').click()
        self.wait(lambda b: b.current_url.endswith(next_path)
                  and b.execute_script('return document.readyState')
                  == 'complete', 'the page after the login')
        return time.monotonic() - t

    def forget_session(self):
        """Drop the session cookie, so the next page asks for a login
        (Django's logout is a POST of the user menu's form)."""
        self.browser.delete_all_cookies()

    def messages(self):
        """Horizon's toasts and alerts on the page, as text."""
        return [e.text for e in self.browser.find_elements(
            By.CSS_SELECTOR, '.messages .alert, .alert-danger, '
            '.toast .alert, #main_content .alert')
            if e.is_displayed() and e.text.strip()]

    def wait_message(self, fragment, timeout=PAGE_TIMEOUT):
        return self.wait(
            lambda _b: next((m for m in self.messages() if fragment in m),
                            None),
            'a message with "%s"' % fragment, timeout)

    # the instances table -----------------------------------------------------
    def row(self, server_id):
        return self.browser.find_element(
            By.ID, 'instances__row__%s' % server_id)

    def row_by_name(self, name, timeout=PAGE_TIMEOUT):
        return self.wait(
            lambda b: next(iter(b.find_elements(
                By.CSS_SELECTOR, 'tr[data-display="%s"]' % name)), None),
            'the instances table row of %s' % name, timeout)

    def cells(self, server_id):
        """{column heading: cell text} of the server's row."""
        heads = [h.text.strip() for h in self.browser.find_elements(
            By.CSS_SELECTOR, '#instances thead tr.table_column_header th, '
            '#instances thead th.sortable, #instances thead th')]
        tds = [td.text.strip() for td in
               self.row(server_id).find_elements(By.TAG_NAME, 'td')]
        return dict(zip([h for h in heads if h or heads.index(h) == 0],
                        tds, strict=False))

    def wait_cells(self, server_id, predicate, what,
                   timeout=STATUS_TIMEOUT):
        """Until ``predicate(cells)`` of the server's row holds; returns
        the cells. Horizon replaces the row at every update: an element
        gone stale meanwhile is read again."""
        def settled(_b):
            try:
                cells = self.cells(server_id)
            except exceptions.WebDriverException:
                return None
            return cells if predicate(cells) else None
        return self.wait(settled, what, timeout)

    def wait_status(self, server_id, status, power_state,
                    timeout=STATUS_TIMEOUT):
        """Until the row shows ``status``, no task, ``power_state``."""
        def done(cells):
            if cells.get('Status') == 'Error' != status:
                raise AssertionError('instance %s went to Error: %s' % (
                    server_id, cells))
            return (cells.get('Status') == status and cells.get('Task')
                    == 'None' and cells.get('Power State') == power_state)
        return self.wait_cells(server_id, done, 'instance %s %s/%s' % (
            server_id, status, power_state), timeout)

    def row_action(self, server_id, action):
        """Run a row action (its Horizon name: stop, start, reboot,
        soft_reboot, pause, suspend, snapshot, delete, ...) from the row's
        menu, confirming the dialog Horizon asks for dangerous ones."""
        row = self.row(server_id)
        ident = 'instances__row_%s__action_%s' % (server_id, action)
        button = row.find_elements(By.ID, ident)
        if not button or not button[0].is_displayed():
            row.find_element(By.CSS_SELECTOR, '.dropdown-toggle').click()
        self.visible('#' + ident, 'the %s action' % action,
                     within=row).click()
        confirm = [e for e in self.browser.find_elements(
            By.CSS_SELECTOR, '.modal-footer .btn-danger, '
            '.modal-footer .btn-primary') if e.is_displayed()]
        if confirm and action != 'snapshot':
            confirm[0].click()

    def console_terminal(self, server_id):
        """The Console tab: switch into its frame once the serial
        console's websocket is open; returns the terminal element."""
        self.open('/project/instances/%s/?tab=instance_details__console'
                  % server_id)
        frame = self.visible('iframe#console_embed', 'the console frame')
        self.browser.switch_to.frame(frame)
        self.wait(lambda b: 'Status: Open' in self.text(),
                  'the console websocket open')
        return self.visible('.terminal', 'the terminal')

    def type_in_terminal(self, terminal, keys):
        ActionChains(self.browser).click(terminal).send_keys(keys).perform()

    # the Launch Instance wizard ----------------------------------------------
    def allocate(self, wizard, step, form, name):
        """In a wizard step's transfer table, move ``name`` up into the
        allocated list (if it is not there already)."""
        wizard.find_element(By.CSS_SELECTOR, 'div.wizard-nav').find_element(
            By.PARTIAL_LINK_TEXT, step).click()
        table = self.visible('ng-include[ng-form=%s]' % form,
                             'the %s step' % step, within=wizard)
        row = ('.//tr[td[normalize-space(.)="%s"] or td/*[normalize-space(.)'
               '="%s"]]' % (name, name))

        def button(_b):
            for tr in table.find_elements(By.XPATH, row):
                for b in tr.find_elements(
                        By.CSS_SELECTOR, 'button.fa-arrow-up, '
                        'button.fa-arrow-down'):
                    if b.is_displayed():
                        return b
            return None
        clicked = []

        def allocated(b):
            """Click until Horizon has moved the row up: under load its
            table may still be redrawn (quotas arriving) when the first
            click comes, and that click is lost."""
            found = button(b)
            if found is None or 'fa-arrow-down' in found.get_attribute(
                    'class'):
                return found
            if found.is_enabled() and (not clicked or
                                       time.monotonic() - clicked[-1] > 2):
                clicked.append(time.monotonic())
                found.click()
            return None
        self.wait(allocated, '%s allocated in the %s step (a row stays '
                  'disabled past quota or the image minimums)' % (name, step))
        return table

    def launch(self, name, image, flavor, network, source='Image',
               shot=None):
        """Project -> Compute -> Instances -> Launch Instance, as a user
        fills it in (``shot``: a screenshot of the Source step once the
        image is chosen); returns when the wizard has closed."""
        self.open('/project/instances/')
        self.visible('#instances__action_launch-ng',
                     'Launch Instance').click()
        wizard = self.visible('wizard', 'the Launch Instance wizard')
        self.visible('#name', within=wizard).send_keys(name)
        nav = wizard.find_element(By.CSS_SELECTOR, 'div.wizard-nav')
        nav.find_element(By.PARTIAL_LINK_TEXT, 'Source').click()
        select = self.visible('#boot-source-type', within=wizard)
        select.find_element(
            By.XPATH, './/option[normalize-space(.)="%s"]' % source).click()
        self.allocate(wizard, 'Source', 'launchInstanceSourceForm', image)
        if shot:
            self.shot(shot)
        self.allocate(wizard, 'Flavor', 'launchInstanceFlavorForm', flavor)
        self.allocate(wizard, 'Networks', 'launchInstanceNetworkForm',
                      network)
        finish = wizard.find_element(By.CSS_SELECTOR,
                                     'button.btn-primary.finish')
        self.wait(lambda _b: finish.is_enabled(),
                  'Launch Instance enabled (every required step filled)')
        finish.click()
        self.wait(lambda b: not [w for w in b.find_elements(
            By.TAG_NAME, 'wizard') if w.is_displayed()],
            'the wizard closed')
