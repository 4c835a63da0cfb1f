"""Host-side backends: what they ask of os-vif and of the plumbing."""
import inspect
from unittest import mock

from os_vif import objects as osv_objects
import testtools

from nova_pydock.network import spec
from nova_pydock.network import vifs
from tests.unit.network import fakes


def ovs_vif(hybrid=False, **kwargs):
    vif = fakes.v4_vif(vif_type='ovs', bridge='br-int', details={
        'port_filter': hybrid, 'ovs_hybrid_plug': hybrid,
        'datapath_type': 'system'}, **kwargs)
    vif['ovs_interfaceid'] = vif['id']
    return vif


class TestOvsBackend(testtools.TestCase):

    def setUp(self):
        super().setUp()
        osv_objects.register_all()
        self.instance = fakes.Instance()
        self.instance.name = 'instance-00000001'
        self.instance.project_id = 'project'
        self.os_vif = self.useFixture_patch(vifs, 'os_vif')
        self.plumbing = self.useFixture_patch(vifs, 'plumbing')
        self.backend = vifs.OvsBackend()

    def useFixture_patch(self, target, name):
        patcher = mock.patch.object(target, name, autospec=True)
        self.addCleanup(patcher.stop)
        return patcher.start()

    def test_plain_port_is_created_by_os_vif(self):
        vif = ovs_vif()
        osv_vif, info = self.backend.to_osvif(self.instance, vif)
        self.assertIsInstance(osv_vif, osv_objects.vif.VIFOpenVSwitch)
        self.assertEqual('tap11111111-aa', osv_vif.vif_name)
        self.assertEqual('br-int', osv_vif.bridge_name)
        self.assertTrue(osv_vif.port_profile.create_port)
        self.assertEqual(fakes.PORT_A, osv_vif.port_profile.interface_id)
        self.assertEqual(self.instance.uuid, info.uuid)

    def test_plug_plain(self):
        self.backend.plug(self.instance, ovs_vif(), 'tap11111111-aa')
        osv_vif, info = self.os_vif.plug.call_args[0]
        self.assertIsInstance(osv_vif, osv_objects.vif.VIFOpenVSwitch)
        self.plumbing.set_master.assert_not_called()

    def test_plug_hybrid_puts_tap_on_qbr(self):
        vif = ovs_vif(hybrid=True)
        self.backend.plug(self.instance, vif, spec.devname(vif))
        osv_vif = self.os_vif.plug.call_args[0][0]
        self.assertIsInstance(osv_vif, osv_objects.vif.VIFBridge)
        self.plumbing.set_master.assert_called_once_with(
            'tap11111111-aa', 'qbr11111111-aa')

    def test_unplug(self):
        self.backend.unplug(self.instance, ovs_vif(), 'tap11111111-aa')
        osv_vif = self.os_vif.unplug.call_args[0][0]
        self.assertIsInstance(osv_vif, osv_objects.vif.VIFOpenVSwitch)

    def test_direct_port_is_refused(self):
        vif = ovs_vif(vnic_type='direct', profile={'pci_slot': '0:0:0.1'})
        with mock.patch.object(vifs.os_vif_util, 'nova_to_osvif_vif',
                               return_value=mock.sentinel.other):
            self.assertRaises(TypeError, self.backend.to_osvif,
                              self.instance, vif)


class TestLinuxBridgeBackend(testtools.TestCase):

    def test_plug(self):
        with mock.patch.object(vifs, 'plumbing', autospec=True) as plumbing:
            vif = fakes.v4_vif(mtu=1400)
            vifs.LinuxBridgeBackend().plug(fakes.Instance(), vif,
                                           spec.devname(vif))
        plumbing.ensure_bridge.assert_called_once_with('brq-test', 1400)
        plumbing.set_master.assert_called_once_with('tap11111111-aa',
                                                    'brq-test')

    def test_unplug_leaves_the_shared_bridge(self):
        with mock.patch.object(vifs, 'plumbing', autospec=True) as plumbing:
            vifs.LinuxBridgeBackend().unplug(fakes.Instance(),
                                             fakes.v4_vif(), 'tap')
        self.assertEqual([], plumbing.mock_calls)

    def test_registry(self):
        self.assertEqual({'bridge', 'ovs'}, set(vifs.BACKENDS))
        self.assertEqual(set(spec.SUPPORTED_VIF_TYPES), set(vifs.BACKENDS))


class TestInterface(testtools.TestCase):

    def test_every_backend_has_the_declared_calls(self):
        base = inspect.signature(vifs.VIFBackend.plug)
        self.assertEqual(base, inspect.signature(vifs.VIFBackend.unplug))
        for vif_type, backend in vifs.BACKENDS.items():
            self.assertIsInstance(backend, vifs.VIFBackend)
            self.assertEqual(vif_type, backend.vif_type)
            for call in (backend.plug, backend.unplug):
                self.assertEqual(base, inspect.signature(
                    getattr(type(backend), call.__name__)))

    def test_a_backend_without_unplug_cannot_exist(self):
        class PlugOnly(vifs.VIFBackend):
            vif_type = 'test'

            def plug(self, instance, vif, devname):
                pass

        self.assertRaises(TypeError, PlugOnly)
