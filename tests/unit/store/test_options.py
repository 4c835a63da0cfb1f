"""Options are listed for oslo-config-generator and the sample is current."""
from oslo_config import cfg
import stevedore
import testtools

from glance_store_layers import options
from tests import config_sample


class TestOptions(testtools.TestCase):

    def test_entry_point_lists_the_options(self):
        mgr = stevedore.driver.DriverManager('oslo.config.opts',
                                             'glance_store_layers')
        ((group, opts),) = mgr.driver()
        self.assertEqual('layers', group.name)
        names = {o.name for o in opts}
        self.assertEqual({'layers_store_datadir', 'layers_store_chunk_size',
                          'layers_store_blob_threshold'}, names)
        for opt in opts:
            self.assertGreater(len(opt.help.strip()), 80, opt.name)

    def test_limits(self):
        conf = cfg.ConfigOpts()
        conf.register_opts(options.OPTS, group='fast')
        conf(args=[])
        self.assertIsNone(conf.fast.layers_store_datadir)
        self.assertRaises(ValueError, conf.set_override,
                          'layers_store_blob_threshold', 100, group='fast')
        self.assertRaises(ValueError, conf.set_override,
                          'layers_store_chunk_size', 1024, group='fast')

    def test_sample_is_current(self):
        generated, committed = config_sample.generated_and_committed(
            'glance-store-layers-config-generator.conf',
            'glance-store-layers.conf.sample')
        self.assertIn('layers_store_datadir', committed)
        self.assertEqual(generated, committed,
                         'etc/glance-store-layers.conf.sample is stale: run '
                         'oslo-config-generator --config-file '
                         'etc/glance-store-layers-config-generator.conf')
