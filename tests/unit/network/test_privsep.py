"""The privsep context and what runs in it."""
import testtools

from nova_pydock.network import plumbing
from nova_pydock.network import privsep
from nova_pydock.network import shaping


class TestContext(testtools.TestCase):

    def test_context(self):
        self.assertEqual('pydock_net_admin',
                         privsep.net_admin_pctxt.cfg_section)
        self.assertEqual('nova_pydock.network.privsep.net_admin_pctxt',
                         privsep.net_admin_pctxt.pypath)

    def test_entrypoints(self):
        """The daemon runs a function only if it is an entrypoint of the
        context under its own module's name."""
        for module, names in (
                (plumbing, ('create_port', 'activate_port', 'delete_port',
                            'ensure_bridge', 'set_master',
                            'write_resolv_conf')),
                (shaping, ('set_shaping',))):
            for name in names:
                func = getattr(module, name)
                self.assertTrue(privsep.net_admin_pctxt.is_entrypoint(func),
                                name)
                # What the client sends the daemon to name the function.
                wrapped = func.args[0]
                self.assertEqual((module.__name__, name),
                                 (wrapped.__module__, wrapped.__name__))
        self.assertFalse(privsep.net_admin_pctxt.is_entrypoint(
            plumbing.set_tx_checksum))
