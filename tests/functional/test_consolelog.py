"""The console log on a real engine: rotated on disk, recent output read."""
import os
import uuid

from tests.functional import driver_base

# 40,000 lines of 71 bytes: about 2.8 MB of output, over 5 MB as the
# engine's json-file log writes it.
CHATTY = ("sh -c 'yes 0123456789012345678901234567890123456789012345678901"
          "234567890 | head -n 40000; echo last line; sleep 600'")


class TestConsoleLog(driver_base.DriverTestCase):

    def spawn_chatty(self):
        meta = self.glance.add(str(uuid.uuid4()),
                               source_path=self.base_archive,
                               properties={'os_command_line': CHATTY})
        instance = self.spawn(image_meta=meta)
        output = self.console_until(
            instance, lambda output: output.endswith(b'last line\n'),
            timeout=120)
        self.assertTrue(output.endswith(b'last line\n'), output[-200:])
        self.assertLessEqual(len(output), 64 * 1024)
        return instance

    def log_files(self, instance):
        log_path = self.inspect(instance)['LogPath']
        directory = os.path.dirname(log_path)
        return {name: os.path.getsize(os.path.join(directory, name))
                for name in os.listdir(directory)
                if name.startswith(os.path.basename(log_path))}

    def test_log_is_rotated_at_the_configured_size(self):
        self.conf.config(console_log_file_mb=1, group='pydock')
        instance = self.spawn_chatty()
        self.assertEqual({'Type': 'json-file',
                          'Config': {'max-size': '1m', 'max-file': '2'}},
                         self.inspect(instance)['HostConfig']['LogConfig'])
        files = self.log_files(instance)
        # The current file and one rotated file, each about 1 MiB (the
        # engine checks the size before each line it writes).
        self.assertEqual(2, len(files), files)
        for size in files.values():
            self.assertLess(size, 1024 * 1024 + 4096, files)

    def test_zero_leaves_logging_to_the_engine(self):
        self.conf.config(console_log_file_mb=0, group='pydock')
        instance = self.spawn_chatty()
        engine_driver = self.api.info()['LoggingDriver']
        log_config = self.inspect(instance)['HostConfig']['LogConfig']
        self.assertEqual(engine_driver, log_config['Type'])
        self.assertEqual({}, log_config['Config'])
        if engine_driver == 'json-file':
            # Nothing bounds it: all of the output is kept.
            self.assertGreater(sum(self.log_files(instance).values()),
                               5 * 1024 * 1024)
