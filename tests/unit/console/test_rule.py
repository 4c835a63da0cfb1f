"""Which process a serial console reaches (nova_pydock.console.rule)."""
import testtools

from nova_pydock.console import rule


class TestShellRule(testtools.TestCase):

    def test_shells_get_the_terminal(self):
        for argv in (['/bin/sh'], ['bash'], ['/bin/bash', '-l'],
                     ['/usr/bin/zsh', '--login'], ['busybox', 'sh'],
                     ['sh', '-i']):
            self.assertTrue(rule.is_shell(argv), argv)

    def test_scripts_and_services_do_not(self):
        for argv in ([], ['sh', '-c', 'httpd -f'], ['bash', '-lc', 'x'],
                     ['/bin/sh', 'start.sh'], ['httpd', '-f'],
                     ['busybox', 'httpd'], ['redis-server'], ['busybox']):
            self.assertFalse(rule.is_shell(argv), argv)

    def test_command_replaces_cmd_and_keeps_entrypoint(self):
        self.assertEqual(['/entry', '/bin/sh'],
                         rule.process_argv(['/entry'], ['x'], ['/bin/sh']))
        self.assertEqual(['/bin/sh'], rule.process_argv(None, ['/bin/sh']))
        self.assertFalse(rule.is_shell(
            rule.process_argv(['/docker-entrypoint.sh'], ['bash'])))

    def test_shell_from_image_property(self):
        self.assertEqual('/bin/sh', rule.shell_for({}))
        self.assertEqual('/bin/sh', rule.shell_for(None))
        self.assertEqual('/bin/bash', rule.shell_for(
            {'image_pydock_console_shell': '/bin/bash'}))

    def test_shell_must_be_an_absolute_path(self):
        self.assertIsNone(rule.shell_problem('/bin/bash'))
        for bad in ('bash', '/bin/sh -x', '/bin/\0sh', '/' + 'x' * 200):
            self.assertIn('pydock_console_shell', rule.shell_problem(bad))
